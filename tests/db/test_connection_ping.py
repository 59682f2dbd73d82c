"""PostgreSQL connections are pinged on checkout only after they sat idle in the pool (a ping on every checkout
costs a round trip per transaction). One that idled and died meanwhile is replaced before anyone uses it; one in
steady use that dies fails its one statement, which invalidates the pool, and the next transaction works."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from repairtext.adapters.db.engine import Database

pytestmark = pytest.mark.skipif(os.environ.get("REPAIRTEXT_TEST_DATABASE", "sqlite") != "postgresql",
                                reason="SQLite has no server connection to lose")


def backend_pid(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def terminate(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.execute(text("SELECT pg_sleep(0.2)"))  # the backend is gone before we go on
    finally:
        admin.dispose()


def test_a_connection_that_idled_and_died_is_replaced_before_use(database_url):
    db = Database(database_url, ping_after_idle=0.0, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(db)
        terminate(database_url, first)

        assert backend_pid(db) != first  # no error: the ping found it dead and the pool connected afresh
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_one_failure_renews_the_pool(database_url):
    db = Database(database_url, ping_after_idle=3600.0, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(db)
        terminate(database_url, first)

        with pytest.raises(OperationalError):
            backend_pid(db)
        assert backend_pid(db) != first
    finally:
        db.dispose()

"""Engines and transactions. SQLite gets WAL and BEGIN IMMEDIATE: one writer at a time, taken up front, so two
transactions never both read a balance and then both debit it (SQLite's equivalent of a row lock)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("repairtext.db")
_ON_COMMIT = "repairtext.on_commit"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the transaction `session` belongs to has committed, and never if it rolls back:
    metrics and wake-ups must describe what really happened."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def make_engine(url: str, *, sqlite_begin: str = "BEGIN IMMEDIATE", **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _take_over_sqlite_transactions(engine, sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _take_over_sqlite_transactions(engine: Engine, begin: str) -> None:
    # pysqlite's own BEGIN handling is deferred and lazy; take it over (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql(begin)


class Database:
    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # Where record-after-commit observers (the event stream on SQLite) find this database from a session.
        self.event_sink: Callable[[object], None] | None = None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"database": self})
        # SQLite has one writer at a time. Threads of this process queue on a lock instead of in SQLite's busy
        # handler, which sleeps up to 100 ms between tries; other processes still meet the busy handler.
        self._sqlite_writer = threading.RLock() if self.is_sqlite else nullcontext()
        # Reads need no write lock: on SQLite they get a plain (deferred) BEGIN on an engine of their own.
        read_engine = make_engine(url, sqlite_begin="BEGIN", **engine_kwargs) if self.is_sqlite else self.engine
        self.read_sessions = sessionmaker(read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The unit of work: one decision, one commit; any exception rolls the whole of it back."""
        with self._sqlite_writer, self.sessions() as session:
            with session.begin():
                yield session
            callbacks = session.info.pop(_ON_COMMIT, ())
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the transaction is committed: a failing observer must not turn it into a 5xx
                log.exception("after-commit callback failed")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A consistent snapshot to read from; never for writes (they belong in transaction())."""
        with self.read_sessions() as session:
            with session.begin():
                yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_sessions.kw["bind"].dispose()

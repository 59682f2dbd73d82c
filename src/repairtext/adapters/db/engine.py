"""Engines and transactions. SQLite gets WAL and BEGIN IMMEDIATE: one writer at a time, taken up front, so two
transactions never both read a balance and then both debit it (SQLite's equivalent of a row lock)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("repairtext.db")
_ON_COMMIT = "repairtext.on_commit"


def on_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once the transaction `session` belongs to has committed, and never if it rolls back:
    metrics and wake-ups must describe what really happened. Whatever `callback` returns is ignored."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)

T = TypeVar("T")

# A connection back from the pool within this many seconds of its last use is not pinged first.
PING_AFTER_IDLE = 5.0


def make_engine(url: str, *, sqlite_begin: str = "BEGIN IMMEDIATE", ping_after_idle: float = PING_AFTER_IDLE,
                **kwargs) -> Engine:
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
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine, ping_after_idle)
    return engine


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """pool_pre_ping, for connections that sat idle only. Pinging on every checkout costs a round trip per
    transaction (one in eight of the inbound webhook's); a connection in steady use has just proved itself, and
    if the server went away since, the failed statement invalidates the pool as pre_ping would have."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the connection did not answer a ping") from exc  # the pool retries


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
        # On the driver's connection: exec_driver_sql would cost a statement's whole dispatch per transaction.
        conn.connection.dbapi_connection.execute(begin)


class Database:
    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # Where record-after-commit observers (the event stream on SQLite) find this database from a session.
        self.event_sink: Callable[[object], None] | None = None
        self.status_counter: Callable[[str, str], None] | None = None  # texts entering a status (metrics)
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
        with self.read_sessions() as session, session.begin():
            yield session

    async def run(self, work: Callable[..., T], *args) -> T:
        """Blocking database work, from async code (the webhooks). PostgreSQL waits on the network, so the work
        goes to the thread pool and the event loop keeps serving. SQLite's is local and short (a fraction of a
        millisecond for a reply), and handing it to a thread costs more than doing it: the hop, GIL handoffs
        between the loop and the pool, threads queueing on the one writer. It runs in the loop, as a bare
        sqlite3 handler would; at worst the loop waits for another thread's transaction to finish."""
        if self.is_sqlite:
            return work(*args)
        return await anyio.to_thread.run_sync(work, *args)

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_sessions.kw["bind"].dispose()

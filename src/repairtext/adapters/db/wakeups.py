"""Waking workers when work is queued, across processes and machines: PostgreSQL LISTEN/NOTIFY.

A trigger on `jobs` (migration 0008) NOTIFYs `repairtext_work_<schema>` on every insert, so whatever code path queues a
job, in whichever process, every listening worker hears it once the transaction commits (NOTIFY is
transactional: a rolled-back job wakes nobody). Workers still poll, slowly, as a fallback: a notification is
lost if the listener is reconnecting when it is sent, and retries come due by time, not by insert.
SQLite has no such channel; there the server's in-process worker is woken directly (Context.notify_work).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger("repairtext.wakeups")
CHANNEL_PREFIX = "repairtext_work_"


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class WorkListener:
    """A thread holding one connection in LISTEN; calls `wake()` for each notification and after each
    (re)connect, since work may have been queued while it was not listening."""

    def __init__(self, sqlalchemy_url: str, wake: Callable[[], None], stop: threading.Event):
        self._url, self._wake, self._stop = libpq_url(sqlalchemy_url), wake, stop
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="repairtext-listen", daemon=True)

    def start(self) -> WorkListener:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg
        import psycopg.sql

        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                    schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
                    channel = psycopg.sql.Identifier(CHANNEL_PREFIX + schema)
                    conn.execute(psycopg.sql.SQL("LISTEN {}").format(channel))
                    self.listening.set()
                    backoff = 0.5
                    self._wake()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except Exception as exc:  # the database restarting, a network blip: reconnect, polling covers the gap
                self.listening.clear()
                log.warning("work listener lost its connection (%s); reconnecting in %.1fs", type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.listening.clear()

"""PostgreSQL LISTEN/NOTIFY: how one process hears what another committed.

Two channels, each per schema (two deployments or test runs sharing a database never hear each other):
- `repairtext_work_<schema>`: a trigger on `jobs` (migration 0008) notifies on every insert, so whatever code
  path queues a job, in whichever process, every listening worker hears it once the transaction commits
  (NOTIFY is transactional: a rolled-back job wakes nobody). Workers still poll, slowly, as a fallback: a
  notification is lost while a listener reconnects, and retries come due by time, not by insert.
- `repairtext_events_<schema>`: a trigger on `events` (migration 0009) sends each event row, in commit order,
  to every server process, which fans it out to its open event streams.
SQLite has no such channel: there one process serves, and it is told directly (Context.notify_work, EventHub).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger("repairtext.wakeups")
WORK_CHANNEL = "repairtext_work_"
EVENTS_CHANNEL = "repairtext_events_"


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChannelListener:
    """A thread holding one connection in LISTEN on `<prefix><schema>`; calls `on_notify(payload)` for each
    notification, and `on_notify(None)` after each (re)connect, since something may have been sent while it was
    not listening."""

    def __init__(self, sqlalchemy_url: str, prefix: str, on_notify: Callable[[str | None], None],
                 stop: threading.Event):
        self._url, self._prefix, self._on_notify, self._stop = libpq_url(sqlalchemy_url), prefix, on_notify, stop
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"repairtext-listen-{prefix.strip('_')}", daemon=True)

    def start(self) -> ChannelListener:
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
                    conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self._prefix + schema)))
                    self.listening.set()
                    backoff = 0.5
                    self._on_notify(None)
                    while not self._stop.is_set():
                        for notification in conn.notifies(timeout=1.0):
                            self._on_notify(notification.payload)
            except Exception as exc:  # the database restarting, a network blip: reconnect; polling covers the gap
                self.listening.clear()
                log.warning("listener on %s lost its connection (%s); reconnecting in %.1fs",
                            self._prefix, type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.listening.clear()


def work_listener(sqlalchemy_url: str, wake: Callable[[], None], stop: threading.Event) -> ChannelListener:
    return ChannelListener(sqlalchemy_url, WORK_CHANNEL, lambda _payload: wake(), stop)

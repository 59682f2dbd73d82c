"""Fan-out of committed events to this process's open event streams.

On PostgreSQL every event reaches every server process through LISTEN (adapters/db/wakeups.py), whichever
process committed it; on SQLite the one serving process publishes after its own commit. Each stream has a
bounded queue: a client that cannot keep up is cut off, and catches up from the table when it reconnects with
Last-Event-ID. A listener that reconnected may have missed notifications, so it asks every stream to resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass

from repairtext.adapters.db.wakeups import EVENTS_CHANNEL, ChannelListener

log = logging.getLogger("repairtext.events")
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class LiveEvent:
    id: int
    shop_id: int
    kind: str
    ticket_id: int | None = None
    message_id: int | None = None
    comment_id: int | None = None

    def data(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("id", "shop_id", "kind")}


RESYNC = object()  # "you may have missed something: read the table from your last id"
CLOSE = object()   # the process is shutting down: end the stream (the client reconnects elsewhere)


class Subscription:
    def __init__(self, shop_id: int, loop: asyncio.AbstractEventLoop):
        self.shop_id, self.loop = shop_id, loop
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, item: object) -> None:
        """Runs on the stream's event loop."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True


def _deliver(subscriptions: list[Subscription], item: object) -> None:
    """One wake-up per event loop, not one per stream: a shop with 40 open pages costs one call_soon_threadsafe
    (a write to the loop's self-pipe) per event."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        by_loop[subscription.loop].append(subscription)
    for loop, group in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that event loop has closed already
            loop.call_soon_threadsafe(_offer_each, group, item)


def _offer_each(subscriptions: list[Subscription], item: object) -> None:
    for subscription in subscriptions:
        subscription.offer(item)


class EventHub:
    def __init__(self, database_url: str, listen: bool):
        self._url, self._listen = database_url, listen
        self._subscriptions: dict[int, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: ChannelListener | None = None

    def subscribe(self, shop_id: int) -> Subscription:
        subscription = Subscription(shop_id, asyncio.get_running_loop())
        with self._lock:
            self._subscriptions[shop_id].add(subscription)
            if self._listen and self._listener is None:
                self._listener = ChannelListener(self._url, EVENTS_CHANNEL, self._on_notify, self._stop).start()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions[subscription.shop_id].discard(subscription)

    def streams(self, shop_id: int) -> int:
        with self._lock:
            return len(self._subscriptions[shop_id])

    @property
    def listening(self) -> threading.Event | None:
        return self._listener.listening if self._listener else None

    def publish(self, event: LiveEvent) -> None:
        """From any thread."""
        with self._lock:
            targets = list(self._subscriptions.get(event.shop_id, ()))
        _deliver(targets, event)

    def _tell_everyone(self, item: object) -> None:
        with self._lock:
            everyone = [s for subs in self._subscriptions.values() for s in subs]
        _deliver(everyone, item)

    def _on_notify(self, payload: str | None) -> None:
        if payload is None:
            self._tell_everyone(RESYNC)
            return
        try:
            self.publish(LiveEvent(**json.loads(payload)))
        except (ValueError, TypeError):
            log.warning("ignored a malformed event notification")

    def close(self) -> None:
        self._tell_everyone(CLOSE)
        self._stop.set()
        if self._listener is not None:
            self._listener.join(3)

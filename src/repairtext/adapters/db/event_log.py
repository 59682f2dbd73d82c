"""Appending to the events table (the live stream's source) inside the caller's transaction.

On PostgreSQL the events trigger NOTIFYs every server process at commit; SQLite's one process is told here, after
the commit (Database.event_sink), so an event is never seen for work that rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from repairtext.adapters.db.engine import on_commit
from repairtext.adapters.db.models import Event
from repairtext.adapters.event_hub import LiveEvent

# The kinds of event (api.md), spelled here only.
MESSAGE_RECEIVED, MESSAGE_STATUS = "message.received", "message.status"
COMMENT_CREATED, TICKET_UPDATED = "comment.created", "ticket.updated"
KINDS = frozenset({MESSAGE_RECEIVED, MESSAGE_STATUS, COMMENT_CREATED, TICKET_UPDATED})

_INSERT = insert(Event).returning(Event.id)


def append(session: Session, shop_id: int, kind: str, now: datetime, *, ticket_id: int | None = None,
           message_id: int | None = None, comment_id: int | None = None) -> None:
    event_id = session.connection().execute(_INSERT, dict(
        shop_id=shop_id, kind=kind, ticket_id=ticket_id, message_id=message_id, comment_id=comment_id,
        created_at=now)).scalar_one()
    _tell_after_commit(session, [LiveEvent(event_id, shop_id, kind, ticket_id, message_id, comment_id)])


def append_many(session: Session, events: Sequence[LiveEvent], now: datetime) -> None:
    """Several events in one statement (the ids given are ignored; the table numbers them)."""
    if not events:
        return
    ids = session.connection().execute(insert(Event).returning(Event.id, sort_by_parameter_order=True), [
        dict(shop_id=e.shop_id, kind=e.kind, ticket_id=e.ticket_id, message_id=e.message_id,
             comment_id=e.comment_id, created_at=now) for e in events]).scalars().all()
    _tell_after_commit(session, [LiveEvent(i, e.shop_id, e.kind, e.ticket_id, e.message_id, e.comment_id)
                                 for i, e in zip(ids, events, strict=True)])


def _tell_after_commit(session: Session, events: list[LiveEvent]) -> None:
    database = session.info.get("database")
    if database is not None and database.is_sqlite and database.event_sink is not None:
        sink = database.event_sink
        on_commit(session, lambda: [sink(e) for e in events])

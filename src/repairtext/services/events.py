"""Events: what just committed, for the staff pages and integrations to follow live (GET /api/v1/events).

`record()` writes the event in the caller's transaction, so an event exists exactly when what it reports
does. Ids only: a client reads the records themselves through the API, with its own permissions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from repairtext.adapters.db import event_log
from repairtext.adapters.db.event_log import (  # noqa: F401  (re-exported: the kinds, for the services)
    COMMENT_CREATED,
    KINDS,
    MESSAGE_RECEIVED,
    MESSAGE_STATUS,
    TICKET_UPDATED,
)
from repairtext.adapters.db.models import Event
from repairtext.adapters.db.rows import rowcount
from repairtext.adapters.event_hub import LiveEvent
from repairtext.bootstrap import Context

KEPT_FOR = timedelta(days=3)
CATCH_UP_PAGE = 500


def record(session: Session, shop_id: int, kind: str, now: datetime, *, ticket_id: int | None = None,
           message_id: int | None = None, comment_id: int | None = None) -> None:
    assert kind in KINDS, kind
    event_log.append(session, shop_id, kind, now, ticket_id=ticket_id, message_id=message_id, comment_id=comment_id)


def since(ctx: Context, shop_id: int, after_id: int, limit: int = CATCH_UP_PAGE) -> list[LiveEvent]:
    """The shop's events after `after_id`, oldest first (a reconnecting stream's catch-up)."""
    with ctx.db.reading() as session:
        rows = session.execute(select(Event.id, Event.shop_id, Event.kind, Event.ticket_id, Event.message_id,
                                      Event.comment_id).where(Event.shop_id == shop_id, Event.id > after_id)
                               .order_by(Event.id).limit(limit)).all()
    return [LiveEvent(*row) for row in rows]


def newest_id(ctx: Context, shop_id: int) -> int:
    with ctx.db.reading() as session:
        return session.scalar(select(func.max(Event.id)).where(Event.shop_id == shop_id)) or 0


def do_prune(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        return rowcount(session.execute(delete(Event).where(Event.created_at < ctx.clock.now() - KEPT_FOR)))

"""The one writer of a message's status, applying domain/message_status.py's rule in the database itself.

Each write is an UPDATE guarded by `status IN (the statuses it may come from)`, so it is atomic whatever the
writer read before: a late send result cannot revive a text another worker failed in the meantime. Every report
is kept in the history, applied or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from repairtext.adapters.db import event_log
from repairtext.adapters.db.engine import on_commit
from repairtext.adapters.db.models import Message, MessageEvent
from repairtext.adapters.event_hub import LiveEvent
from repairtext.domain.message_status import may_come_from


@dataclass(frozen=True)
class StatusReport:
    message_id: int
    status: str
    provider_status: str | None = None
    error_code: str | None = None


def _group(report: StatusReport) -> tuple[str, str]:
    return report.status, report.error_code or ""


def write_statuses(session: Session, reports: Sequence[StatusReport], now: datetime, *, history: bool = True,
                   clear_error: bool = False) -> set[int]:
    """Move each message to its reported status where the rule allows (one UPDATE per status reported); returns
    the ids that moved. At most one report per message a call. `clear_error` drops a "will retry" error from
    the texts that moved; `history=False` for the outbox's own bookkeeping (`sending`, back to `queued`)."""
    assert len({r.message_id for r in reports}) == len(reports), "one report per message a call"
    moved: set[int] = set()
    changed: list[tuple] = []  # (id, shop, ticket, provider, status) of each message that moved
    for (status, error_code), group in groupby(sorted(reports, key=_group), key=_group):
        values: dict = {"status": status, "updated_at": now}
        if clear_error:
            values.update(error=None, error_code=None)
        if error_code:
            values["error_code"] = error_code
        ids = [r.message_id for r in group]
        rows = session.execute(
            update(Message).where(Message.id.in_(ids), Message.status.in_(may_come_from(status)))
            .values(**values).returning(Message.id, Message.shop_id, Message.ticket_id, Message.provider),
            execution_options={"synchronize_session": "fetch"}).all()
        moved.update(row.id for row in rows)
        changed += [(row.id, row.shop_id, row.ticket_id, row.provider, status) for row in rows]
    if history and changed:
        # What staff see move (queued -> accepted -> delivered), not the outbox's own bookkeeping.
        event_log.append_many(session, [LiveEvent(0, shop, event_log.MESSAGE_STATUS, ticket, message_id)
                                        for message_id, shop, ticket, _, _ in changed], now)
        _count_after_commit(session, [(provider, status) for _, _, _, provider, status in changed])
    if history and reports:
        session.execute(insert(MessageEvent), [
            {"message_id": r.message_id, "status": r.status, "provider_status": r.provider_status,
             "error_code": r.error_code, "applied": r.message_id in moved, "at": now} for r in reports])
    return moved


def _count_after_commit(session: Session, moves: list[tuple[str, str]]) -> None:
    database = session.info.get("database")
    counter = getattr(database, "status_counter", None)
    if counter is not None:
        on_commit(session, lambda: [counter(provider, status) for provider, status in moves])

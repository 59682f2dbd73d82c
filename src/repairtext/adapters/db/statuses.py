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

from repairtext.adapters.db.models import Message, MessageEvent
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
    for (status, error_code), group in groupby(sorted(reports, key=_group), key=_group):
        values: dict = {"status": status, "updated_at": now}
        if clear_error:
            values.update(error=None, error_code=None)
        if error_code:
            values["error_code"] = error_code
        ids = [r.message_id for r in group]
        moved.update(session.execute(
            update(Message).where(Message.id.in_(ids), Message.status.in_(may_come_from(status)))
            .values(**values).returning(Message.id),
            execution_options={"synchronize_session": "fetch"}).scalars())
    if history and reports:
        session.execute(insert(MessageEvent), [
            {"message_id": r.message_id, "status": r.status, "provider_status": r.provider_status,
             "error_code": r.error_code, "applied": r.message_id in moved, "at": now} for r in reports])
    return moved

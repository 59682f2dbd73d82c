"""Claiming outbox work safely with any number of workers.

PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take different rows without waiting.
SQLite: the claim runs in a BEGIN IMMEDIATE transaction (see engine.py), so one writer claims at a time.
A claim is a lease: a worker that dies mid-job leaves it to be claimed again once the lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Job


def claim_due_jobs(session: Session, worker: str, now: datetime, lease: timedelta, limit: int,
                   kinds: tuple[str, ...] | None = None) -> list[Row]:
    """Claim up to `limit` due jobs in one statement; returns (id, kind) rows, oldest due first."""
    due = or_(
        and_(Job.state == "pending", Job.run_after <= now),
        and_(Job.state == "running", Job.lease_until < now),
    )
    candidates = select(Job.id).where(due).order_by(Job.run_after, Job.id).limit(limit)
    if kinds:
        candidates = candidates.where(Job.kind.in_(kinds))
    claimed = session.execute(
        update(Job).where(Job.id.in_(candidates.with_for_update(skip_locked=True).scalar_subquery()))
        .values(state="running", locked_by=worker, lease_until=now + lease, attempts=Job.attempts + 1)
        .returning(Job.id, Job.kind),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted(claimed, key=lambda row: row.id)

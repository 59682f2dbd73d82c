"""Claiming outbox work safely with any number of workers.

PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take different rows without waiting.
SQLite: the claim runs in a BEGIN IMMEDIATE transaction (see engine.py), so one writer claims at a time.
A claim is a lease: a worker that dies mid-job leaves it to be claimed again once the lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Job


def claim_due_jobs(session: Session, worker: str, now: datetime, lease: timedelta, limit: int,
                   kinds: tuple[str, ...] | None = None) -> list[Row]:
    """Claim up to `limit` due jobs in one statement; returns (id, kind) rows.

    Round-robin across shops: each shop's oldest due job first, then each shop's second, and so on, so a shop
    with thousands queued takes a claim's share, not the whole claim, and another shop's one text goes in the
    next claim. The due condition is checked again on the rows locked (PostgreSQL re-reads a row a concurrent
    claim just committed), so two workers never both take one job."""
    due = or_(
        and_(Job.state == "pending", Job.run_after <= now),
        and_(Job.state == "running", Job.lease_until < now),
    )
    if kinds:
        due = and_(due, Job.kind.in_(kinds))
    turn = func.row_number().over(partition_by=Job.shop_id, order_by=(Job.run_after, Job.id)).label("turn")
    ranked = select(Job.id, Job.run_after, turn).where(due).subquery()
    fair = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.run_after, ranked.c.id).limit(limit)
    candidates = select(Job.id).where(Job.id.in_(fair), due).with_for_update(skip_locked=True)
    claimed = session.execute(
        update(Job).where(Job.id.in_(candidates.scalar_subquery()))
        .values(state="running", locked_by=worker, lease_until=now + lease, attempts=Job.attempts + 1)
        .returning(Job.id, Job.kind),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted(claimed, key=lambda row: row.id)


def renew_lease(session: Session, job_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
    """Extend `worker`'s lease on the job, only if it still holds it and it has not run out: after its lease
    ran out a job may belong to another worker even if no other worker has claimed it yet."""
    renewed = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.locked_by == worker, Job.lease_until > now)
        .values(lease_until=now + lease).returning(Job.id),
        execution_options={"synchronize_session": False},
    ).first()
    return renewed is not None

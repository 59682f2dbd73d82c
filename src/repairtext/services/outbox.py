"""What the outbox holds right now, for operators (metrics) and readiness."""

from __future__ import annotations

from sqlalchemy import func, select

from repairtext.adapters.db.models import Job
from repairtext.bootstrap import Context

OPEN_STATES = ("pending", "running")


def outbox_depth_and_age(ctx: Context) -> tuple[int, float]:
    """Jobs not done yet, and how long the oldest due one has waited (0 when none is due)."""
    now = ctx.clock.now()
    with ctx.db.reading() as session:
        depth = session.scalar(select(func.count(Job.id)).where(Job.state.in_(OPEN_STATES)))
        oldest = session.scalar(select(func.min(Job.run_after)).where(
            Job.state.in_(OPEN_STATES), Job.run_after <= now)) if depth else None
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return int(depth or 0), max(age, 0.0)

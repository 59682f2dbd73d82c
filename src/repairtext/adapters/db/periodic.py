"""Housekeeping that runs once per deployment per period, however many workers there are.

Each task has a row; a worker runs the task only if it moved the row's `last_run_at` forward itself, in one
conditional UPDATE, so of any number of workers exactly one wins each period (on SQLite and PostgreSQL alike,
and with no lock held while the task runs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import PeriodicTask
from repairtext.adapters.db.rows import rowcount


def claim_period(session: Session, task: str, now: datetime, every: timedelta) -> bool:
    """True if this caller is the one to run `task` now (and records that it did)."""
    won = rowcount(session.execute(update(PeriodicTask).where(PeriodicTask.task == task, PeriodicTask.last_run_at <= now - every)
                                   .values(last_run_at=now)))
    if won:
        return True
    try:
        with session.begin_nested():
            session.execute(insert(PeriodicTask).values(task=task, last_run_at=now))
    except IntegrityError:
        return False  # the row exists and ran within the period, or another worker just made it
    return True

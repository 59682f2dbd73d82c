"""Failed attempts, counted in the database so every server process enforces the same limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from repairtext.adapters.db.engine import Database
from repairtext.adapters.db.models import RateLimitHit


class RateLimitStore:
    def __init__(self, db: Database):
        self.db = db

    def counting(self, bucket: str, now: datetime) -> tuple[int, datetime | None]:
        """How many failures in `bucket` still count at `now`, and when the oldest of them stops counting."""
        with self.db.reading() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(RateLimitHit.expires_at))
                .where(RateLimitHit.bucket == bucket, RateLimitHit.expires_at > now)).one()
        return count, oldest

    def add(self, hits: list[tuple[str, datetime]], now: datetime) -> None:
        """Count a failure in each (bucket, until when it counts)."""
        with self.db.transaction() as session:
            # Sweep what no longer counts, in every bucket: the table holds at most one window of failures.
            session.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= now))
            session.add_all([RateLimitHit(bucket=bucket, expires_at=until) for bucket, until in hits])

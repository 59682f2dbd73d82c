"""Rate limits on guessing: check before trying a secret, record a failure after a wrong one.

The window rule is domain/rate_limits.py; the counts live in the database (adapters/db/rate_limit_store.py).
Subjects are client addresses or hashes of what was typed, never the typed secret itself.
"""

from __future__ import annotations

import hashlib

from repairtext.adapters.db.rate_limit_store import RateLimitStore
from repairtext.bootstrap import Context
from repairtext.domain.rate_limits import Limit, TooManyAttempts


def identity(value: str) -> str:
    # What a person typed may be a real secret with a typo: keep only a hash of it.
    return hashlib.sha256(value.strip().encode()).hexdigest()[:32]


def check(ctx: Context, *limits: tuple[Limit, str]) -> None:
    """Raise TooManyAttempts if any (limit, subject) has used up its failures."""
    store, now = RateLimitStore(ctx.db), ctx.clock.now()
    for limit, subject in limits:
        wait = limit.retry_after(*store.counting(limit.bucket(subject), now), now)
        if wait is not None:
            raise TooManyAttempts(limit, wait)


def record_failure(ctx: Context, *limits: tuple[Limit, str]) -> None:
    now = ctx.clock.now()
    RateLimitStore(ctx.db).add([(limit.bucket(subject), now + limit.window) for limit, subject in limits], now)

"""Requests made safe to retry with an `Idempotency-Key` (api.md): one mechanism for every request that texts
a customer or spends money.

The key and the answer are written in the SAME transaction as the work, so they exist exactly when the work
does: an answer of 5xx (or any exception) rolls both back and a retry simply does the work; a repeat of a
request that succeeded gets the stored answer and does nothing (texts nobody again). Keys belong to a shop and
live 24 hours. Only successful answers are stored: a refused request changed nothing, so repeating it is safe.

A repeat that arrives while the first is still being handled: on PostgreSQL the first holds a transaction-scoped
advisory lock on the key, and the repeat answers 409 at once rather than wait; on SQLite transactions already
run one at a time, so the repeat waits for the first to finish and then gets its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import IdempotencyKey
from repairtext.bootstrap import Context
from repairtext.domain.errors import Conflict, ValidationFailed

KEPT_FOR = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON-ready (dicts, lists, strings, numbers)
    replayed: bool = False


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests "the same": method, path and the validated body, canonically encoded."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def do_once(ctx: Context, shop_id: int, key: str | None, request_fingerprint: str,
            work: Callable[[Session], Answer]) -> Answer:
    """Run `work` in one transaction; with a key, record its answer in that transaction, or answer again."""
    try:
        with ctx.db.transaction() as session:
            answer = _once(ctx, session, shop_id, key, request_fingerprint, work)
    except IntegrityError:
        # Belt and braces: another transaction recorded the same key first (the advisory lock should prevent it).
        earlier = _recorded(ctx, shop_id, key) if key else None
        if earlier is None:
            raise
        answer = _replay(earlier, request_fingerprint)
    if not answer.replayed:
        ctx.notify_work()
    return answer


def _once(ctx: Context, session: Session, shop_id: int, key: str | None, request_fingerprint: str,
          work: Callable[[Session], Answer]) -> Answer:
    if key is None:
        return work(session)
    now = ctx.clock.now()
    _hold(session, shop_id, key)
    earlier = session.scalar(select(IdempotencyKey).where(IdempotencyKey.shop_id == shop_id,
                                                          IdempotencyKey.key == key))
    if earlier is not None and earlier.created_at > now - KEPT_FOR:
        return _replay(earlier, request_fingerprint)
    # Expired keys of this shop go now (the key may be reused after 24 hours), keeping the table small.
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.shop_id == shop_id,
                                                 IdempotencyKey.created_at <= now - KEPT_FOR))
    answer = work(session)
    session.add(IdempotencyKey(shop_id=shop_id, key=key, fingerprint=request_fingerprint, status_code=answer.status,
                               response=json.dumps(answer.body), created_at=now))
    session.flush()
    return answer


def _hold(session: Session, shop_id: int, key: str) -> None:
    """PostgreSQL: take the key's advisory lock for this transaction, or refuse at once (409) while another
    transaction has it. SQLite needs nothing: BEGIN IMMEDIATE already lets one writer in at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    lock_id = int.from_bytes(hashlib.sha256(f"idempotency:{shop_id}:{key}".encode()).digest()[:8], "big", signed=True)
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id}):
        raise Conflict(f"a request with this {HEADER} is still being handled; retry in a moment for its answer")


def _replay(earlier: IdempotencyKey, request_fingerprint: str) -> Answer:
    if earlier.fingerprint != request_fingerprint:
        raise ValidationFailed.on(HEADER, "this key was already used for a different request (another body or "
                                          "path); use a new key for a new request")
    return Answer(earlier.status_code, json.loads(earlier.response), replayed=True)


def _recorded(ctx: Context, shop_id: int, key: str) -> IdempotencyKey | None:
    with ctx.db.reading() as session:
        return session.scalar(select(IdempotencyKey).where(IdempotencyKey.shop_id == shop_id,
                                                           IdempotencyKey.key == key))

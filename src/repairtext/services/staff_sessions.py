"""Staff sessions, kept on the server: the cookie holds a random token, the database says whether it still works.

A session works until it expires (a working day after sign-in), is ended at sign-out, or the API key it was
opened with is revoked; each is checked on every request, in the database, so it holds in every process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from repairtext.adapters.db.models import ApiKey, Shop, StaffSession
from repairtext.bootstrap import Context

MAX_AGE = timedelta(hours=12)  # a working day: a forgotten browser at the counter does not stay signed in for long
# last_seen_at is for people reading the table; writing it on every page view would make every read a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    shop: Shop  # detached, with its numbers loaded
    key_id: int | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_start_session(ctx: Context, shop_id: int, key_id: int | None) -> str:
    """A new session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        # Sessions long over are of no use to anyone; sign-ins are rare enough to sweep them here.
        session.execute(delete(StaffSession).where(StaffSession.expires_at < now - MAX_AGE))
        session.add(StaffSession(token_hash=_hash(token), shop_id=shop_id, api_key_id=key_id, created_at=now,
                                 last_seen_at=now, expires_at=now + MAX_AGE))
    return token


def signed_in(ctx: Context, token: str | None) -> SignedIn | None:
    """Who a cookie's token signs in, if the session still works."""
    if not token or len(token) > 100:
        return None
    now = ctx.clock.now()
    with ctx.db.reading() as session:
        row = session.execute(
            select(StaffSession, Shop).join(Shop, Shop.id == StaffSession.shop_id)
            .outerjoin(ApiKey, ApiKey.id == StaffSession.api_key_id)
            .where(StaffSession.token_hash == _hash(token), StaffSession.revoked_at.is_(None),
                   StaffSession.expires_at > now,
                   (StaffSession.api_key_id.is_(None)) | (ApiKey.revoked_at.is_(None)))).first()
        if row is None:
            return None
        staff_session, shop = row
        _ = shop.numbers
    if now - staff_session.last_seen_at >= LAST_SEEN_RESOLUTION:
        with ctx.db.transaction() as session:
            session.execute(update(StaffSession).where(StaffSession.id == staff_session.id).values(last_seen_at=now))
    return SignedIn(shop, staff_session.api_key_id)


def do_end_session(ctx: Context, token: str | None) -> None:
    """Sign-out: the token stops working everywhere. Ending an ended or unknown session changes nothing."""
    if not token or len(token) > 100:
        return
    with ctx.db.transaction() as session:
        session.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token),
                                                   StaffSession.revoked_at.is_(None))
                        .values(revoked_at=ctx.clock.now()))

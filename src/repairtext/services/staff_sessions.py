"""Staff sessions, kept on the server: the cookie holds a random token, the database says whether it still works.

A session belongs to one staff account. It works until it expires (a working day after sign-in), is ended at
sign-out, or the account is removed; each is checked on every request, in the database, so it holds in every
process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from repairtext.adapters.db.models import Shop, StaffAccount, StaffSession
from repairtext.bootstrap import Context

MAX_AGE = timedelta(hours=12)  # a working day: a forgotten browser at the counter does not stay signed in for long
# last_seen_at is for people reading the table; writing it on every page view would make every read a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    shop: Shop  # detached, with its numbers loaded
    account: StaffAccount  # detached


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_start_session(ctx: Context, account: StaffAccount) -> str:
    """A new session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        # Sessions long over are of no use to anyone; sign-ins are rare enough to sweep them here.
        session.execute(delete(StaffSession).where(StaffSession.expires_at < now - MAX_AGE))
        session.add(StaffSession(token_hash=_hash(token), shop_id=account.shop_id, staff_account_id=account.id,
                                 created_at=now,
                                 last_seen_at=now, expires_at=now + MAX_AGE))
    return token


def signed_in(ctx: Context, token: str | None) -> SignedIn | None:
    """Who a cookie's token signs in, if the session still works."""
    if not token or len(token) > 100:
        return None
    now = ctx.clock.now()
    with ctx.db.reading() as session:
        row = session.execute(
            select(StaffSession, Shop, StaffAccount).join(Shop, Shop.id == StaffSession.shop_id)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_account_id)
            .where(StaffSession.token_hash == _hash(token), StaffSession.revoked_at.is_(None),
                   StaffSession.expires_at > now, StaffAccount.removed_at.is_(None),
                   StaffAccount.shop_id == StaffSession.shop_id)).first()
        if row is None:
            return None
        staff_session, shop, account = row
        _ = shop.numbers
    if now - staff_session.last_seen_at >= LAST_SEEN_RESOLUTION:
        with ctx.db.transaction() as session:
            session.execute(update(StaffSession).where(StaffSession.id == staff_session.id).values(last_seen_at=now))
    return SignedIn(shop, account)


def do_end_session(ctx: Context, token: str | None) -> None:
    """Sign-out: the token stops working everywhere. Ending an ended or unknown session changes nothing."""
    if not token or len(token) > 100:
        return
    with ctx.db.transaction() as session:
        session.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token),
                                                   StaffSession.revoked_at.is_(None))
                        .values(revoked_at=ctx.clock.now()))

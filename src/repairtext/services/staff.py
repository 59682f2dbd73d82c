"""Staff accounts: creating one (the CLI, an accepted invitation), signing in, roles, removing people.

A shop always keeps at least one owner: the changes that could leave none lock the shop's row first, so two
owners demoting each other at once cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop, StaffAccount, StaffInvite, StaffSession
from repairtext.adapters.passwords import hash_password, needs_rehash, verify_password
from repairtext.bootstrap import Context
from repairtext.domain import staff as rules
from repairtext.domain.errors import Conflict, NotFound, ValidationFailed

INVITE_VALID_FOR = timedelta(days=7)
EMAIL_TAKEN = "this email already has an account: sign in with it, or use another address"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _email_taken(session: Session, email: str) -> bool:
    return session.scalar(select(StaffAccount.id).where(StaffAccount.email == email,
                                                        StaffAccount.removed_at.is_(None))) is not None


def create_account(session: Session, shop_id: int, *, email: str, name: str, role: str, password: str,
                   now) -> StaffAccount:
    """Inside the caller's transaction; raises ValidationFailed naming the field."""
    email, name, role = rules.check_email(email), rules.check_name(name), rules.check_role(role)
    password = rules.check_password(password)
    if session.get(Shop, shop_id) is None:
        raise ValidationFailed.on("shop_id", f"no shop {shop_id}")
    if _email_taken(session, email):
        raise ValidationFailed.on("email", EMAIL_TAKEN)
    account = StaffAccount(shop_id=shop_id, email=email, name=name, role=role,
                           password_hash=hash_password(password), created_at=now)
    session.add(account)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same email, committed by a concurrent request since the check above
        raise ValidationFailed.on("email", EMAIL_TAKEN) from None
    return account


def do_create_account(ctx: Context, shop_id: int, *, email: str, name: str, role: str,
                      password: str) -> StaffAccount:
    with ctx.db.transaction() as session:
        account = create_account(session, shop_id, email=email, name=name, role=role, password=password,
                                 now=ctx.clock.now())
        session.flush()
        session.expunge(account)
    return account


def authenticate(ctx: Context, email: str, password: str) -> StaffAccount | None:
    """The active account this email and password open, or None (the same work either way: see passwords.py)."""
    email = (email or "").strip().lower()
    if len(email) > 254 or len(password) > rules.PASSWORD_MAX or "\x00" in email:  # no account has such an email
        return None
    with ctx.db.reading() as session:
        account = session.scalar(select(StaffAccount).where(StaffAccount.email == email,
                                                            StaffAccount.removed_at.is_(None)))
        if account is not None:
            session.expunge(account)
    if not verify_password(account.password_hash if account else None, password) or account is None:
        return None
    if needs_rehash(account.password_hash):
        with ctx.db.transaction() as session:
            session.execute(update(StaffAccount).where(StaffAccount.id == account.id)
                            .values(password_hash=hash_password(password)))
    return account


def list_accounts(session: Session, shop_id: int) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).where(StaffAccount.shop_id == shop_id,
                                                           StaffAccount.removed_at.is_(None))
                                .order_by(StaffAccount.name, StaffAccount.id)))


def pending_invites(session: Session, shop_id: int, now) -> list[StaffInvite]:
    return list(session.scalars(select(StaffInvite).where(
        StaffInvite.shop_id == shop_id, StaffInvite.accepted_at.is_(None), StaffInvite.revoked_at.is_(None),
        StaffInvite.expires_at > now).order_by(StaffInvite.id)))


def do_invite(ctx: Context, shop_id: int, inviter_id: int | None, *, email: str, role: str) -> tuple[StaffInvite, str]:
    """A one-time invitation; returns it and the token for the link (only its hash is stored)."""
    email, role = rules.check_email(email), rules.check_role(role)
    token, now = secrets.token_urlsafe(32), ctx.clock.now()
    with ctx.db.transaction() as session:
        # Only this shop's own people are checked here: answering "has an account" for an email of another shop
        # would tell any owner who is registered anywhere. An email taken elsewhere is said to the person who
        # opens the link (they own the address), and the link cannot make a second account.
        if session.scalar(select(StaffAccount.id).where(StaffAccount.shop_id == shop_id, StaffAccount.email == email,
                                                        StaffAccount.removed_at.is_(None))) is not None:
            raise ValidationFailed.on("email", "this person already has an account here")
        invite = StaffInvite(shop_id=shop_id, email=email, role=role, token_hash=_hash_token(token),
                             invited_by_id=inviter_id, created_at=now, expires_at=now + INVITE_VALID_FOR)
        session.add(invite)
        session.flush()
        session.expunge(invite)
    return invite, token


def open_invite(ctx: Context, token: str) -> StaffInvite | None:
    if not token or len(token) > 100:
        return None
    with ctx.db.reading() as session:
        invite = session.scalar(select(StaffInvite).where(
            StaffInvite.token_hash == _hash_token(token), StaffInvite.accepted_at.is_(None),
            StaffInvite.revoked_at.is_(None), StaffInvite.expires_at > ctx.clock.now()))
        if invite is not None:
            session.expunge(invite)
    return invite


def do_accept_invite(ctx: Context, token: str, *, name: str, password: str) -> StaffAccount:
    """Creates the account; the link works once (a conditional update decides, so two tabs cannot both use it)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        invite = session.scalar(select(StaffInvite).where(StaffInvite.token_hash == _hash_token(token or "")))
        used = session.execute(update(StaffInvite).where(
            StaffInvite.token_hash == _hash_token(token or ""), StaffInvite.accepted_at.is_(None),
            StaffInvite.revoked_at.is_(None), StaffInvite.expires_at > now).values(accepted_at=now))
        if invite is None or used.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound("this invitation has been used, withdrawn or has expired")
        account = create_account(session, invite.shop_id, email=invite.email, name=name, role=invite.role,
                                 password=password, now=now)
        session.flush()
        session.expunge(account)
    return account


def do_withdraw_invite(ctx: Context, shop_id: int, invite_id: int) -> None:
    with ctx.db.transaction() as session:
        done = session.execute(update(StaffInvite).where(
            StaffInvite.id == invite_id, StaffInvite.shop_id == shop_id, StaffInvite.accepted_at.is_(None),
            StaffInvite.revoked_at.is_(None)).values(revoked_at=ctx.clock.now()))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(f"no open invitation {invite_id}")


def _locked_account(session: Session, shop_id: int, account_id: int) -> StaffAccount:
    session.execute(select(Shop.id).where(Shop.id == shop_id).with_for_update())
    account = session.scalar(select(StaffAccount).where(StaffAccount.id == account_id,
                                                        StaffAccount.shop_id == shop_id,
                                                        StaffAccount.removed_at.is_(None)))
    if account is None:
        raise NotFound(f"no staff member {account_id}")
    return account


def _other_owners(session: Session, account: StaffAccount) -> int:
    return session.scalar(select(func.count()).select_from(StaffAccount).where(
        StaffAccount.shop_id == account.shop_id, StaffAccount.role == rules.OWNER,
        StaffAccount.removed_at.is_(None), StaffAccount.id != account.id)) or 0


def do_change_role(ctx: Context, shop_id: int, account_id: int, role: str) -> StaffAccount:
    role = rules.check_role(role)
    with ctx.db.transaction() as session:
        account = _locked_account(session, shop_id, account_id)
        if account.role == rules.OWNER and role != rules.OWNER and not _other_owners(session, account):
            raise Conflict(f"{account.name} is the shop's only owner: make someone else an owner first")
        account.role = role
        if not rules.can_manage_shop(role):
            _withdraw_invites_by(session, account, ctx.clock.now())
        session.flush()
        session.expunge(account)
    return account


def do_remove(ctx: Context, shop_id: int, account_id: int) -> None:
    """The person can no longer sign in, their open sessions end and their open invitations are withdrawn; what
    they wrote keeps their name."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        account = _locked_account(session, shop_id, account_id)
        if account.role == rules.OWNER and not _other_owners(session, account):
            raise Conflict(f"{account.name} is the shop's only owner: make someone else an owner first")
        account.removed_at = now
        session.execute(update(StaffSession).where(StaffSession.staff_account_id == account.id,
                                                   StaffSession.revoked_at.is_(None)).values(revoked_at=now))
        _withdraw_invites_by(session, account, now)


def _withdraw_invites_by(session: Session, account: StaffAccount, now) -> None:
    """An invitation is its owner handing out access: it ends with their right to hand it out (removed or made
    staff), like their sessions, so nobody keeps a way back in through a link they made, perhaps for themselves."""
    session.execute(update(StaffInvite).where(StaffInvite.invited_by_id == account.id,
                                              StaffInvite.accepted_at.is_(None), StaffInvite.revoked_at.is_(None))
                    .values(revoked_at=now))

"""A shop's API keys: issued with the secret shown once, checked on every request, revoked for good.

A key is `rt_<prefix>_<secret>`; only the prefix and a hash of the secret are stored. Every request looks the
key up by its prefix and checks `revoked_at` in the database (no cache), so a revoke takes effect at once in
every process. People sign in with staff accounts (services/staff.py), not with keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import ApiKey, Shop
from repairtext.bootstrap import Context
from repairtext.domain.errors import Conflict, NotFound, ValidationFailed

API_KEY_PREFIX = "rt_"
FIRST_KEY_NAME = "First key"
# Recording each use would make every API call a write; to the minute is enough to tell a key still in use.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash_secret(secret: str) -> str:
    # API keys are 256-bit random strings, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    """(prefix, secret) of something shaped like one of our keys, else None."""
    presented = presented.strip()
    if not presented.startswith(API_KEY_PREFIX) or "_" not in presented[len(API_KEY_PREFIX):]:
        return None
    prefix, secret = presented[len(API_KEY_PREFIX):].split("_", 1)
    return (prefix, secret) if prefix and secret else None


def issue_api_key(session: Session, shop: Shop, now, name: str = FIRST_KEY_NAME) -> tuple[ApiKey, str]:
    """A new key row (flushed, so it has an id) and the full key, which is never stored nor shown again."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(shop_id=shop.id, name=name, prefix=prefix, secret_hash=_hash_secret(secret), created_at=now)
    session.add(key)
    session.flush()
    return key, f"{API_KEY_PREFIX}{prefix}_{secret}"


def find_valid_key(session: Session, presented: str) -> ApiKey | None:
    """The unrevoked key `presented` is, else None (unknown prefix, wrong secret, revoked)."""
    parts = split_key(presented)
    if parts is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[0], ApiKey.revoked_at.is_(None)))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(parts[1])):
        return None
    return key


def authenticate(ctx: Context, presented: str) -> tuple[Shop, ApiKey] | None:
    """The shop and key a request is made with; notes the key's use (coarsely, see LAST_USED_RESOLUTION)."""
    now = ctx.clock.now()
    with ctx.db.reading() as session:
        key = find_valid_key(session, presented)
        if key is None:
            return None
        shop = session.get_one(Shop, key.shop_id)
        _ = shop.numbers
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        with ctx.db.transaction() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return shop, key


def list_keys(session: Session, shop_id: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id).order_by(ApiKey.id)))


def check_key_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.on("name", "give the key a name that says where it is used (for example 'Front desk')")
    if len(name) > 80:
        raise ValidationFailed.on("name", "at most 80 characters")
    if "\x00" in name:
        raise ValidationFailed.on("name", "may not contain a NUL character")
    return name


def do_create_key(ctx: Context, shop_id: int, name: str) -> tuple[ApiKey, str]:
    name = check_key_name(name)
    with ctx.db.transaction() as session:
        return issue_api_key(session, session.get_one(Shop, shop_id), ctx.clock.now(), name=name)


def do_revoke_key(ctx: Context, shop_id: int, key_id: int) -> ApiKey:
    """Revoke one of the shop's keys. Revoking a revoked key changes nothing; the shop's last working key is
    refused, because a program that revoked it could not call the API to make a new one (an owner still could, on
    Settings, but the integration would stop until someone noticed)."""
    with ctx.db.transaction() as session:
        # Lock the shop so two revokes at once cannot each leave the other's key as "the last one".
        session.scalar(select(Shop.id).where(Shop.id == shop_id).with_for_update())
        key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == shop_id))
        if key is None:
            raise NotFound(f"no API key {key_id}")
        if key.revoked_at is not None:
            return key
        working = session.scalar(select(func.count()).select_from(ApiKey)
                                 .where(ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None))) or 0
        if working <= 1:
            raise Conflict("this is the shop's last working API key; create another one before revoking it")
        key.revoked_at = ctx.clock.now()
        session.flush()
    return key

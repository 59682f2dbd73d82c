"""Texts that never finish: when delivery callbacks are lost (our outage, or the provider's), a text stays
`accepted` or `sent` for good. Housekeeping asks the provider where such a text stands, by its id, and records
the answer through the receipt path (receipts.apply_receipt), so refunds and the history follow the same rules
as a callback.

Bounded on every side: a text is asked about only after STALE without news, at most PER_RUN texts a run within
BUDGET_SECONDS, each backing off (CHECK_EVERY doubling up to CHECK_AT_MOST), and after GIVE_UP since its first
attempt it is left as it is, with the reason in its history. A run claims its texts (status_check_at moves
CLAIM ahead) before the provider calls, which run outside any transaction, so two workers never ask twice.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from repairtext.adapters.db.models import Message, MessageEvent, Shop
from repairtext.adapters.providers.base import Provider, ProviderError, ProviderStatus
from repairtext.bootstrap import Context
from repairtext.services import receipts

UNFINISHED = ("accepted", "sent")
STALE = timedelta(hours=1)
GIVE_UP = timedelta(hours=72)
CHECK_EVERY = timedelta(minutes=10)
CHECK_AT_MOST = timedelta(hours=6)
CLAIM = timedelta(minutes=5)
PER_RUN = 20
BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class _Due:
    message_id: int
    provider_id: str
    provider: Provider | ProviderError


def do_reconcile(ctx: Context, limit: int = PER_RUN) -> int:
    """Ask the providers about up to `limit` unfinished texts; returns how many were asked about."""
    due = _claim(ctx, ctx.clock.now(), limit)
    deadline = time.monotonic() + BUDGET_SECONDS
    asked = 0
    for item in due:
        if time.monotonic() > deadline:
            break  # the rest keep their claim and come back once it runs out
        try:
            if isinstance(item.provider, ProviderError):
                raise item.provider
            reports, error = item.provider.fetch_status(item.provider_id), None
        except ProviderError as exc:
            reports, error = [], exc
        _record(ctx, item.message_id, reports, error)
        asked += 1
    return asked


def _claim(ctx: Context, now: datetime, limit: int) -> list[_Due]:
    never_asked = and_(Message.status_check_at.is_(None), Message.status_checks == 0,
                       Message.updated_at <= now - STALE)
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Message.id, Message.shop_id, Message.provider, Message.provider_id)
            .where(Message.direction == "outbound", Message.status.in_(UNFINISHED), Message.provider_id.is_not(None),
                   or_(never_asked, Message.status_check_at <= now))
            .order_by(Message.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not rows:
            return []
        session.execute(update(Message).where(Message.id.in_([r.id for r in rows])).values(status_check_at=now + CLAIM))
        shops = {s.id: s for s in session.scalars(select(Shop).where(Shop.id.in_({r.shop_id for r in rows})))}
        providers: dict[tuple[int, str], Provider | ProviderError] = {}
        for r in rows:
            if (r.shop_id, r.provider) not in providers:
                providers[(r.shop_id, r.provider)] = _provider(ctx, shops[r.shop_id], r.provider)
        return [_Due(r.id, r.provider_id, providers[(r.shop_id, r.provider)]) for r in rows]


def _provider(ctx: Context, shop: Shop, name: str) -> Provider | ProviderError:
    try:
        provider = ctx.provider_named(name, shop)
    except Exception as exc:  # noqa: BLE001 - e.g. a Flowroute secret sealed with another key: ask again later
        return ProviderError(f"the shop's {name} credentials cannot be read ({type(exc).__name__})")
    return provider or ProviderError(f"the shop's {name} account is no longer configured")


def _record(ctx: Context, message_id: int, reports: list[ProviderStatus], error: ProviderError | None) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        message = session.get(Message, message_id, with_for_update=True)
        if message is None or message.status not in UNFINISHED:
            return  # a callback settled it meanwhile
        heard = {e.provider_status for e in message.events}
        for report in reports:  # only what the history lacks: the callbacks that never came
            if report.status and report.status not in heard:
                receipts.apply_receipt(ctx, session, message, report.status, report.error_code, now)
                heard.add(report.status)
        if message.status not in UNFINISHED:
            message.status_check_at = None
            return
        message.status_checks += 1
        if now - (message.first_attempt_at or message.created_at) < GIVE_UP:
            message.status_check_at = now + _backoff(message.status_checks)
            return
        last = reports[-1].status if reports else None
        hours = int(GIVE_UP.total_seconds() // 3600)
        message.status_check_at = None
        message.error = (f"no final status from {message.provider} after {hours} h of asking; "
                         f"last heard: {last or message.status}" + (f" ({error})" if error else ""))
        session.add(MessageEvent(message_id=message.id, status="unconfirmed", provider_status=last,
                                 error_code=f"no final status after {hours} h", applied=False, at=now))


def _backoff(checks: int) -> timedelta:
    base = min(CHECK_AT_MOST.total_seconds(), CHECK_EVERY.total_seconds() * 2 ** max(checks - 1, 0))
    return timedelta(seconds=random.uniform(base * 0.75, base))

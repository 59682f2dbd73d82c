"""The credit ledger: append-only entries are the truth; credit_balances is a cache that every debit locks.

reserve_credits() runs inside the caller's transaction (the one that records the message and queues its
send), so a message is never queued without its credits, nor credits taken without a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairtext.adapters.db.engine import on_commit
from repairtext.adapters.db.models import AddonPurchase, Alert, CreditBalance, LedgerEntry, Message, Shop
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain import credits as rules
from repairtext.domain.credits import ADDON, MONTHLY
from repairtext.domain.errors import AddonsNotYetAvailable


@dataclass(frozen=True)
class CreditSummary:
    plan: str
    month: str
    monthly_allowance: int
    monthly_remaining: int
    addon_remaining: int
    addons_available_from: date
    low_credit_alert: str | None

    @property
    def total_remaining(self) -> int:
        return self.monthly_remaining + self.addon_remaining


def _entry(session: Session, shop_id: int, kind: str, bucket: str, amount: int, now: datetime, reason: str,
           month: str | None = None, message_id: int | None = None, purchase_id: int | None = None,
           key: str | None = None) -> None:
    session.add(LedgerEntry(shop_id=shop_id, kind=kind, bucket=bucket, amount=amount, month=month,
                            message_id=message_id, purchase_id=purchase_id, reason=reason,
                            idempotency_key=key, created_at=now))


def _grant(ctx: Context, session: Session, shop: Shop, balance: CreditBalance, month: str, now: datetime) -> None:
    allowance = ctx.catalog.plan(shop.plan).monthly_credits
    _entry(session, shop.id, "grant", MONTHLY, allowance, now, f"{shop.plan} plan allowance for {month}",
           month=month, key=f"grant:{shop.id}:{month}")
    balance.month, balance.monthly_remaining = month, allowance


def open_account(ctx: Context, session: Session, shop: Shop, now: datetime) -> None:
    balance = CreditBalance(shop_id=shop.id, month="", monthly_remaining=0, addon_remaining=0)
    session.add(balance)
    _grant(ctx, session, shop, balance, rules.month_of(now, shop.time_zone), now)


def locked_balance(session: Session, shop_id: int) -> CreditBalance:
    """The row that serializes every change to a shop's credits (SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE)."""
    return session.execute(
        select(CreditBalance).where(CreditBalance.shop_id == shop_id).with_for_update()
    ).scalar_one()


def bring_month_current(ctx: Context, session: Session, shop: Shop, balance: CreditBalance, now: datetime) -> bool:
    """Expire last month's unused allowance and grant this month's, once. Returns whether it rolled."""
    month = rules.month_of(now, shop.time_zone)
    if balance.month >= month:
        return False
    if balance.monthly_remaining:
        _entry(session, shop.id, "expiry", MONTHLY, -balance.monthly_remaining, now,
               f"unused {balance.month} allowance expires (monthly credits never roll over)",
               month=balance.month, key=f"expiry:{shop.id}:{balance.month}")
    _grant(ctx, session, shop, balance, month, now)
    return True


def current_balance(ctx: Context, session: Session, shop: Shop) -> CreditBalance:
    """The shop's balance, locked for this transaction and in the current month."""
    balance = locked_balance(session, shop.id)
    bring_month_current(ctx, session, shop, balance, ctx.clock.now())
    return balance


def reserve_credits(ctx: Context, session: Session, shop: Shop, credits: int, message: Message,
                    balance: CreditBalance | None = None) -> rules.Spend:
    """Debit `credits` for `message`: monthly first, then add-ons; all or nothing (raises InsufficientCredits).
    `balance` is the shop's current_balance() when the caller already holds it."""
    now = ctx.clock.now()
    balance = balance or current_balance(ctx, session, shop)
    spend = rules.plan_spend(credits, balance.monthly_remaining, balance.addon_remaining)
    if spend.monthly:
        _entry(session, shop.id, "debit", MONTHLY, -spend.monthly, now, f"text #{message.id} ({message.trigger})",
               month=balance.month, message_id=message.id)
    if spend.addon:
        _entry(session, shop.id, "debit", ADDON, -spend.addon, now, f"text #{message.id} ({message.trigger})",
               message_id=message.id)
    balance.monthly_remaining -= spend.monthly
    balance.addon_remaining -= spend.addon
    _maybe_alert_low(session, shop, balance, now)
    on_commit(session, lambda: ctx.metrics.credits_debited.inc(credits))
    return spend


def _maybe_alert_low(session: Session, shop: Shop, balance: CreditBalance, now: datetime) -> None:
    total = balance.monthly_remaining + balance.addon_remaining
    if rules.crosses_low_threshold(total, balance.low_alert_month == balance.month):
        balance.low_alert_month = balance.month
        session.add(Alert(shop_id=shop.id, kind="low_credits", month=balance.month, created_at=now,
                          detail=f"Only {total} SMS credits left for {balance.month}. Buy an add-on pack to keep texting."))


def refund(ctx: Context, session: Session, shop: Shop, message: Message, reason: str) -> int:
    """Give back exactly what `message` was debited, to the buckets it came from. A monthly credit whose month
    has ended comes back and expires at once: it would have expired anyway. Returns credits made usable."""
    now = ctx.clock.now()
    balance = locked_balance(session, shop.id)
    bring_month_current(ctx, session, shop, balance, now)
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.bucket, LedgerEntry.month, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.message_id == message.id,
               LedgerEntry.kind.in_(("debit", "refund")))
        .group_by(LedgerEntry.kind, LedgerEntry.bucket, LedgerEntry.month)
    ).all()
    owed: dict[tuple[str, str | None], int] = {}
    for _kind, bucket, month, amount in rows:
        owed[(bucket, month)] = owed.get((bucket, month), 0) - amount
    refunded = sum(amount for amount in owed.values() if amount > 0)
    if refunded:
        on_commit(session, lambda: ctx.metrics.credits_refunded.inc(refunded))
    usable = 0
    for (bucket, month), amount in owed.items():
        if amount <= 0:
            continue
        _entry(session, shop.id, "refund", bucket, amount, now, f"text #{message.id}: {reason}",
               month=month, message_id=message.id)
        if bucket == ADDON:
            balance.addon_remaining += amount
            usable += amount
        elif month == balance.month:
            balance.monthly_remaining += amount
            usable += amount
        else:
            _entry(session, shop.id, "expiry", MONTHLY, -amount, now,
                   f"refund of text #{message.id} belongs to {month}, which has ended", month=month)
    return usable


def summary(ctx: Context, session: Session, shop: Shop) -> CreditSummary:
    balance = must_get(session, CreditBalance, shop.id)
    month = rules.month_of(ctx.clock.now(), shop.time_zone)
    allowance = ctx.catalog.plan(shop.plan).monthly_credits
    monthly = balance.monthly_remaining if balance.month == month else allowance  # a new month not yet rolled
    return CreditSummary(
        plan=shop.plan, month=month, monthly_allowance=allowance, monthly_remaining=monthly,
        addon_remaining=balance.addon_remaining,
        addons_available_from=rules.addons_available_from(shop.subscription_started_on, ctx.catalog.addon.available_after_days),
        low_credit_alert=balance.low_alert_month if balance.low_alert_month == month else None,
    )


def low_credits_left(ctx: Context, session: Session, shop: Shop) -> int | None:
    """What every staff page's banner shows: the credits left while this month's low-credit alert stands (it was
    recorded, see _maybe_alert_low, and a purchase or refund has not lifted the total back over the threshold);
    None otherwise. One primary-key read of credit_balances, which mirrors the alert (`low_alert_month`), so it
    costs a page next to nothing. A shop on its own Flowroute account spends no credits and is never warned."""
    if shop.provider != "twilio":
        return None
    balance = session.get(CreditBalance, shop.id)
    month = rules.month_of(ctx.clock.now(), shop.time_zone)
    if balance is None or balance.month != month or balance.low_alert_month != month:
        return None
    total = balance.monthly_remaining + balance.addon_remaining
    return total if rules.is_low(total) else None


def do_buy_addon(ctx: Context, shop_id: int) -> AddonPurchase:
    with ctx.db.transaction() as session:
        return buy_addon(ctx, session, shop_id)


def buy_addon(ctx: Context, session: Session, shop_id: int) -> AddonPurchase:
    """Buy one pack, inside the caller's transaction. The API makes a retry safe with an Idempotency-Key
    (services/idempotency.py: a double click or a timeout must not charge twice)."""
    now = ctx.clock.now()
    shop = must_get(session, Shop, shop_id)
    balance = locked_balance(session, shop.id)
    opens = rules.addons_available_from(shop.subscription_started_on, ctx.catalog.addon.available_after_days)
    if now.astimezone(ZoneInfo(shop.time_zone)).date() < opens:
        raise AddonsNotYetAvailable(opens)
    bring_month_current(ctx, session, shop, balance, now)
    pack = ctx.catalog.addon
    purchase = AddonPurchase(shop_id=shop.id, credits=pack.credits, price_cents=pack.price_cents, created_at=now)
    session.add(purchase)
    session.flush()
    _entry(session, shop.id, "purchase", ADDON, pack.credits, now, f"add-on pack of {pack.credits}",
           purchase_id=purchase.id)
    balance.addon_remaining += pack.credits
    return purchase


def do_rollover(ctx: Context, at: datetime) -> list[int]:
    """Start the month containing `at` for every shop whose local month began. Idempotent; catches up."""
    rolled = []
    with ctx.db.reading() as session:
        # The worker asks every minute: only shops whose month has turned get a transaction of their own.
        due = [shop_id for shop_id, zone, month in session.execute(
            select(Shop.id, Shop.time_zone, CreditBalance.month).join(CreditBalance, CreditBalance.shop_id == Shop.id)
            .order_by(Shop.id)) if rules.month_of(at, zone) > month]
    for shop_id in due:
        with ctx.db.transaction() as session:
            shop = must_get(session, Shop, shop_id)
            if bring_month_current(ctx, session, shop, locked_balance(session, shop_id), at):
                rolled.append(shop_id)
    return rolled


def recompute(session: Session, shop: Shop) -> tuple[int, int]:
    """Balances from the ledger alone: (monthly remaining in the cached month, add-on remaining)."""
    balance = must_get(session, CreditBalance, shop.id)
    monthly = session.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.bucket == MONTHLY, LedgerEntry.month == balance.month,
        LedgerEntry.kind != "expiry")).scalar_one()
    addon = session.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.bucket == ADDON)).scalar_one()
    return int(monthly), int(addon)


def check_ledger(ctx: Context) -> list[str]:
    """Every shop's cached balance against the ledger; returns the disagreements (empty is healthy)."""
    problems = []
    with ctx.db.transaction() as session:
        for shop in session.scalars(select(Shop).order_by(Shop.id)):
            balance = must_get(session, CreditBalance, shop.id)
            monthly, addon = recompute(session, shop)
            if (monthly, addon) != (balance.monthly_remaining, balance.addon_remaining):
                problems.append(f"shop {shop.id}: cached monthly={balance.monthly_remaining} addon={balance.addon_remaining}, "
                                f"ledger monthly={monthly} addon={addon}")
    return problems

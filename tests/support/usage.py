"""A shop with credits used over several days, and what its ledger says about them, for the credits page tests.

The clock is set (the app and the services share `ctx.clock`), so the texts land on chosen days through the real
API: the ledger entries are the ones a shop would get."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from repairtext.adapters.db.models import LedgerEntry
from repairtext.clock import SettableClock

ZONE = "America/Chicago"


def at(year: int, month: int, day: int, hour: int = 16) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)  # 16:00 UTC is 10:00 or 11:00 in Chicago: no quiet hours


def text_costing(shop, ticket_id: int, credits: int) -> None:
    """Texts worth `credits` GSM-7 segments (153 characters a part), at most 10 a text: a longer one is split
    for the provider at 1,600 characters, which costs a segment more."""
    while credits:
        part = min(credits, 10)
        body = "x" * 153 * part if part > 1 else "Your phone is ready."
        response = shop.api.post(f"/api/v1/tickets/{ticket_id}/comments", json={"body": "", "sms_body": body})
        assert response.status_code == 201, response.text
        credits -= part


def shop_with_usage(ctx, shops):
    """A Starter shop (25 credits a month, started long ago): texts on Oct 29, then in November 12 + 10 credits,
    an add-on pack on Nov 4, and 8 credits on Nov 7 that empty the allowance and take 5 from the pack.
    Leaves the clock at Nov 10, 2026."""
    ctx.clock = SettableClock(at(2026, 10, 29))
    shop = shops.create(name="Autumn Repairs", plan="starter", started=date(2026, 8, 1), time_zone=ZONE)
    ticket = shop.ticket(shop.customer("Ana Ruiz")["id"])["id"]  # the Initial Problem text
    text_costing(shop, ticket, 3)
    ctx.clock.set(at(2026, 11, 2))
    text_costing(shop, ticket, 12)
    ctx.clock.set(at(2026, 11, 4))
    assert shop.api.post("/api/v1/credits/addons").status_code == 201
    ctx.clock.set(at(2026, 11, 5))
    text_costing(shop, ticket, 10)
    ctx.clock.set(at(2026, 11, 7))
    text_costing(shop, ticket, 8)
    ctx.clock.set(at(2026, 11, 10))
    return shop


def ledger_use_by_day(ctx, shop_id: int) -> dict[str, dict[str, int]]:
    """{"2026-11-02": {"monthly": 12, "addon": 0}, …}: debits less refunds, by the shop's day, from the ledger."""
    zone = ZoneInfo(ZONE)
    used: dict[str, dict[str, int]] = defaultdict(lambda: {"monthly": 0, "addon": 0})
    with ctx.db.reading() as session:
        for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop_id,
                                                               LedgerEntry.kind.in_(("debit", "refund")))):
            used[entry.created_at.astimezone(zone).date().isoformat()][entry.bucket] -= entry.amount
    return dict(used)


def ledger_totals_by_day(ctx, shop_id: int) -> dict[str, dict[str, int]]:
    """Every ledger kind summed by the shop's day: {"2026-11-04": {"purchase": 2500, …}, …}."""
    zone = ZoneInfo(ZONE)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with ctx.db.reading() as session:
        for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop_id)):
            totals[entry.created_at.astimezone(zone).date().isoformat()][entry.kind] += entry.amount
    return {day: dict(kinds) for day, kinds in totals.items()}

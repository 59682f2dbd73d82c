"""The seed's credit rules one by one, on the ledger itself."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from support.shops import fresh_number

from repairtext.adapters.db.models import Message, Shop
from repairtext.clock import SettableClock
from repairtext.domain.errors import AddonsNotYetAvailable, InsufficientCredits
from repairtext.services import credits
from repairtext.services.shops import do_create_shop

CHICAGO = ZoneInfo("America/Chicago")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def clock(ctx):
    ctx.clock = SettableClock(at(2026, 11, 10, 12))
    return ctx.clock


def make_shop(ctx, plan="starter", started=date(2026, 10, 1)):
    return do_create_shop(ctx, name="Shop", plan=plan, numbers=[fresh_number()], time_zone="America/Chicago",
                          started=started).shop.id


def spend(ctx, shop_id, n, trigger="comment") -> Message:
    with ctx.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        m = Message(shop_id=shop_id, direction="outbound", trigger=trigger, provider="twilio", from_number="+1",
                    to_number="+1", body="x", status="queued", segments=n, credits=n,
                    created_at=ctx.clock.now(), updated_at=ctx.clock.now())
        session.add(m)
        session.flush()
        credits.reserve_credits(ctx, session, shop, n, m)
        return m


def balance(ctx, shop_id):
    with ctx.db.transaction() as session:
        s = credits.summary(ctx, session, session.get(Shop, shop_id))
        return s.monthly_remaining, s.addon_remaining


@pytest.mark.parametrize("plan, allowance", [("starter", 25), ("repair_shop", 200), ("big_chain", 1000)])
def test_each_plan_grants_its_allowance(ctx, clock, plan, allowance):
    assert balance(ctx, make_shop(ctx, plan)) == (allowance, 0)


def test_allowance_resets_on_the_first_in_the_shops_zone_and_never_rolls_over(ctx, clock):
    shop_id = make_shop(ctx)
    spend(ctx, shop_id, 5)
    # 23:59 on Nov 30 in Chicago is already December in UTC: not yet a new month for this shop.
    assert credits.do_rollover(ctx, at(2026, 11, 30, 23, 59)) == []
    clock.set(at(2026, 11, 30, 23, 59))
    assert balance(ctx, shop_id) == (20, 0)
    assert credits.do_rollover(ctx, at(2026, 12, 1, 0, 0)) == [shop_id]
    clock.set(at(2026, 12, 1, 0, 1))
    assert balance(ctx, shop_id) == (25, 0)  # the 20 unused expired; 25 granted, not 45
    with ctx.db.transaction() as session:
        from sqlalchemy import select

        from repairtext.adapters.db.models import LedgerEntry
        kinds = [(e.kind, e.amount, e.month) for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))]
    assert ("expiry", -20, "2026-11") in kinds and ("grant", 25, "2026-12") in kinds


def test_rollover_is_idempotent_and_catches_up(ctx, clock):
    shop_id = make_shop(ctx)
    assert credits.do_rollover(ctx, at(2027, 2, 3, 9)) == [shop_id]   # down over two month starts
    assert credits.do_rollover(ctx, at(2027, 2, 3, 9)) == []
    assert credits.do_rollover(ctx, at(2027, 2, 20, 9)) == []
    clock.set(at(2027, 2, 3, 10))
    assert balance(ctx, shop_id) == (25, 0)
    assert credits.check_ledger(ctx) == []


def test_addons_roll_over_and_monthly_credits_are_spent_first(ctx, clock):
    shop_id = make_shop(ctx, started=date(2026, 9, 1))
    credits.do_buy_addon(ctx, shop_id)
    assert balance(ctx, shop_id) == (25, 2500)
    spend(ctx, shop_id, 20)
    assert balance(ctx, shop_id) == (5, 2500)       # monthly first
    spend(ctx, shop_id, 8)
    assert balance(ctx, shop_id) == (0, 2497)       # then add-ons
    credits.do_rollover(ctx, at(2026, 12, 1, 0, 0))
    clock.set(at(2026, 12, 2))
    assert balance(ctx, shop_id) == (25, 2497)      # add-ons survive the month, monthly resets


def test_addons_open_30_days_after_the_subscription_started(ctx, clock):
    shop_id = make_shop(ctx, started=date(2026, 11, 1))
    clock.set(at(2026, 11, 30, 23, 59))
    with pytest.raises(AddonsNotYetAvailable) as refused:
        credits.do_buy_addon(ctx, shop_id)
    assert refused.value.available_from == date(2026, 12, 1)
    clock.set(at(2026, 12, 1, 0, 0))
    purchase = credits.do_buy_addon(ctx, shop_id)
    assert purchase.credits == 2500 and purchase.price_cents == ctx.catalog.addon.price_cents


def test_insufficient_credits_debits_nothing(ctx, clock):
    shop_id = make_shop(ctx)
    spend(ctx, shop_id, 20)
    with pytest.raises(InsufficientCredits) as refused:
        spend(ctx, shop_id, 6)
    assert (refused.value.needed, refused.value.available) == (6, 5)
    assert balance(ctx, shop_id) == (5, 0)


def test_refund_returns_to_the_buckets_it_came_from(ctx, clock):
    shop_id = make_shop(ctx, started=date(2026, 9, 1))
    credits.do_buy_addon(ctx, shop_id)
    spend(ctx, shop_id, 20)
    split = spend(ctx, shop_id, 10)                  # 5 monthly + 5 add-on
    with ctx.db.transaction() as session:
        assert credits.refund(ctx, session, session.get(Shop, shop_id), split, "test") == 10
    assert balance(ctx, shop_id) == (5, 2500)
    with ctx.db.transaction() as session:            # refunding twice gives nothing more
        assert credits.refund(ctx, session, session.get(Shop, shop_id), split, "again") == 0
    assert balance(ctx, shop_id) == (5, 2500)


def test_monthly_refund_after_its_month_ended_expires(ctx, clock):
    shop_id = make_shop(ctx)
    m = spend(ctx, shop_id, 3)
    clock.set(at(2026, 12, 2))
    with ctx.db.transaction() as session:
        assert credits.refund(ctx, session, session.get(Shop, shop_id), m, "late failure") == 0
    assert balance(ctx, shop_id) == (25, 0)
    assert credits.check_ledger(ctx) == []


def test_one_low_credit_alert_a_month(ctx, clock):
    from sqlalchemy import func, select

    from repairtext.adapters.db.models import Alert

    shop_id = make_shop(ctx)
    spend(ctx, shop_id, 9)
    assert balance(ctx, shop_id)[0] == 16
    for _ in range(3):
        spend(ctx, shop_id, 1)
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        s = credits.summary(ctx, session, session.get(Shop, shop_id))
        assert s.low_credit_alert == "2026-11"

"""Texts whose delivery callbacks were lost are asked about at the provider, by id, until final or given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.inbound import customer_with_number, flowroute_shop, open_shop
from support.shops import eventually

from repairtext.adapters.db.models import Message
from repairtext.clock import SettableClock
from repairtext.services.reconcile import do_reconcile


@pytest.fixture
def clock(ctx):
    ctx.clock = SettableClock(datetime.now(UTC))
    return ctx.clock


def _outbound(shop, ticket_id):
    [m] = [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound"]
    return m


def _sent_without_callbacks(shops, sim, worker, provider="twilio"):
    shop = flowroute_shop(shops, sim) if provider == "flowroute" else open_shop(shops)
    sim.post("/_sim/faults", {"provider": provider, "kind": "drop_callbacks", "count": 10})
    ticket = shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    [sent] = sim.messages(provider)
    eventually(lambda: sim.get("/_sim/messages", provider=provider)[0]["status"] == "delivered")
    return shop, ticket, sent


@pytest.mark.parametrize("provider", ["twilio", "flowroute"])
def test_lost_callbacks_are_made_good_after_an_hour(shops, sim, worker, clock, provider):
    shop, ticket, sent = _sent_without_callbacks(shops, sim, worker, provider)
    assert _outbound(shop, ticket["id"])["status"] == "accepted"  # the provider delivered it; we never heard
    assert do_reconcile(worker.ctx) == 0  # not stale yet
    clock.advance(timedelta(hours=1, minutes=1))
    assert do_reconcile(worker.ctx) == 1
    message = _outbound(shop, ticket["id"])
    assert message["status"] == "delivered" and message["provider_id"] == sent["id"]
    words = [e["provider_status"] for e in message["status_history"]]
    expected = ["queued", "delivered"] if provider == "twilio" else ["accepted", "message buffered", "delivered"]
    assert words[-len(expected):] == expected  # Flowroute's MDR replays each receipt; Twilio says where it stands
    clock.advance(timedelta(hours=1))
    assert do_reconcile(worker.ctx) == 0  # final: never asked again


def test_worker_housekeeping_reconciles(shops, sim, worker, clock):
    shop, ticket, _ = _sent_without_callbacks(shops, sim, worker)
    clock.advance(timedelta(hours=2))
    worker.housekeeping(force=True)
    assert _outbound(shop, ticket["id"])["status"] == "delivered"


def test_a_text_that_never_settles_backs_off_then_is_given_up_with_the_reason(shops, sim, worker, clock, ctx):
    shop, ticket, sent = _sent_without_callbacks(shops, sim, worker)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 503, "on": "fetch", "count": 100})
    asked = 0
    for _ in range(80 * 6):  # 80 hours of housekeeping, every 10 minutes
        clock.advance(timedelta(minutes=10))
        asked += do_reconcile(ctx)
    message = _outbound(shop, ticket["id"])
    assert 5 <= asked <= 25  # backing off, not asking every run
    assert message["status"] == "accepted" and "no final status" in message["error"]
    assert message["status_history"][-1]["status"] == "unconfirmed"
    assert message["status_history"][-1]["error_code"] == "no final status after 72 h"
    clock.advance(timedelta(days=3))
    assert do_reconcile(ctx) == 0
    with ctx.db.transaction() as session:
        row = session.scalar(select(Message).where(Message.provider_id == sent["id"]))
        assert row.status_check_at is None and row.status_checks == asked


def test_each_run_is_bounded(shops, sim, worker, clock, ctx):
    shop = open_shop(shops)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "drop_callbacks", "count": 100})
    for _ in range(3):
        shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    clock.advance(timedelta(hours=2))
    assert do_reconcile(ctx, limit=2) == 2
    assert do_reconcile(ctx, limit=2) == 1  # the two asked are not asked again at once

"""What the providers really say, checked against their own descriptions (the official `twilio` package's enum,
RFC 9110's Retry-After), not only against our simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from sqlalchemy import select
from support.inbound import customer_with_number, open_shop
from support.shops import eventually
from twilio.rest.api.v2010.account.message import MessageInstance

from repairtext.adapters.db.models import Job
from repairtext.adapters.providers.base import retry_after_seconds
from repairtext.clock import SettableClock
from repairtext.domain.message_status import FINAL
from repairtext.services.receipts import our_status

INBOUND_ONLY = {"receiving", "received"}


def test_every_outbound_status_of_twilios_enum_has_a_meaning():
    statuses = {v for k, v in vars(MessageInstance.Status).items() if not k.startswith("_")}
    assert "partially_delivered" in statuses  # the package we check against knows it
    unmapped = {s for s in statuses - INBOUND_ONLY if our_status("twilio", s) is None}
    assert unmapped == set()
    assert our_status("twilio", "partially_delivered") not in FINAL  # not every part arrived: not settled


def test_partially_delivered_is_recorded_as_itself_and_a_later_delivered_settles_it(shops, sim, worker):
    shop = open_shop(shops)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "drop_callbacks", "count": 2})  # sent, delivered
    ticket = shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    [sent] = sim.messages()
    eventually(lambda: sim.messages()[0]["status"] == "delivered")

    sim.post(f"/_sim/messages/{sent['id']}/status", {"status": "partially_delivered"})
    [partly] = shop.messages(ticket_id=ticket["id"])
    sim.post(f"/_sim/messages/{sent['id']}/status", {"status": "delivered"})
    [settled] = shop.messages(ticket_id=ticket["id"])

    event = partly["status_history"][-1]
    assert (event["status"], event["provider_status"], event["applied"]) == ("sent", "partially_delivered", True)
    assert partly["status"] == "sent" and settled["status"] == "delivered"


def test_retry_after_is_seconds_or_an_http_date():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 01 Dec 2026 12:02:00 GMT", now) == 120
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0  # already past: now
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_a_429_with_an_http_date_waits_until_then(shops, sim, worker, ctx):
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = open_shop(shops)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 429, "retry_after": when})
    shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    with ctx.db.transaction() as session:
        job = session.scalar(select(Job))
        assert job.state == "pending" and job.run_after >= clock.now() + timedelta(seconds=100)
    clock.advance(timedelta(seconds=125))
    worker.drain()
    assert len(sim.messages()) == 1

"""Before a text in doubt is sent again it is looked up at the provider, reading the whole answer: every page back
to the first attempt, never a DateSent filter, and a look-up that cannot finish keeps the text in doubt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.credentials import TWILIO_SID, TWILIO_TOKEN
from support.inbound import customer_with_number, flowroute_shop, open_shop, phone_of

from repairtext.adapters.providers.base import OutboundText, ProviderError
from repairtext.adapters.providers.twilio import TwilioProvider
from repairtext.clock import SettableClock

BODY = "Your screen is in, pick up after 3"


def _in_doubt(sim, ctx, provider="twilio", count=1):
    """The next `count` sends reach the provider, but the answer never reaches us (see the clock fixture)."""
    sim.post("/_sim/faults", {"provider": provider, "kind": "accept_then_timeout", "delay": 2, "count": count})


def _ours(sim, provider="twilio", body=BODY):
    return [m for m in sim.messages(provider) if m["body"] == body]


def _text(shop, ticket_id, body=BODY):
    response = shop.api.post(f"/api/v1/tickets/{ticket_id}/comments", json={"body": "", "sms_body": body})
    assert response.status_code in (200, 201), response.text


def _outbound(shop, ticket_id, body=BODY):
    return [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound" and m["body"] == body]


def _busy_twilio(sim, shop_number, to, count):
    """Other texts to the same customer from the same number, sent after ours (another system on the account)."""
    with httpx.Client(base_url=sim.url, auth=(TWILIO_SID, TWILIO_TOKEN)) as api:
        for i in range(count):
            r = api.post(f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
                         data={"To": to, "From": shop_number, "Body": f"other text {i}"})
            assert r.status_code == 201


@pytest.fixture
def clock(ctx):
    ctx.clock = SettableClock(datetime.now(UTC))
    ctx.provider_timeout = 0.5  # before the first call builds ctx.http
    ctx.lookup_page_size = 20  # so 65 newer messages take four pages
    return ctx.clock


def _ticket_with_its_first_text_sent(shop, worker):
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()
    return customer, ticket


def test_a_text_with_65_newer_messages_to_the_customer_is_found_not_sent_again(shops, sim, worker, ctx, clock):
    shop = open_shop(shops)
    customer, ticket = _ticket_with_its_first_text_sent(shop, worker)
    _in_doubt(sim, ctx)
    _text(shop, ticket["id"])
    worker.drain()
    assert _outbound(shop, ticket["id"])[0]["provider_id"] is None  # in doubt
    _busy_twilio(sim, shop.number, phone_of(customer), 65)
    clock.advance(timedelta(minutes=5))
    worker.drain()
    [sent] = _ours(sim)
    [message] = _outbound(shop, ticket["id"])
    assert message["provider_id"] == sent["id"] and message["status"] != "queued"


def test_a_look_up_that_fails_on_its_second_page_keeps_the_text_queued_and_sends_nothing(
        shops, sim, worker, ctx, clock):
    shop = open_shop(shops)
    customer, ticket = _ticket_with_its_first_text_sent(shop, worker)
    _in_doubt(sim, ctx)
    _text(shop, ticket["id"])
    worker.drain()
    _busy_twilio(sim, shop.number, phone_of(customer), 65)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 500, "on": "list", "skip": 1})
    clock.advance(timedelta(minutes=5))
    worker.drain()
    [message] = _outbound(shop, ticket["id"])
    assert message["status"] == "queued" and message["provider_id"] is None
    assert "lookup_incomplete" in message["error"]
    assert len(_ours(sim)) == 1
    clock.advance(timedelta(minutes=5))
    worker.drain()
    [message] = _outbound(shop, ticket["id"])
    assert len(_ours(sim)) == 1 and message["provider_id"] == _ours(sim)[0]["id"]


def test_two_identical_texts_in_doubt_each_claim_their_own_provider_message(shops, sim, worker, ctx, clock):
    shop = open_shop(shops)
    _, ticket = _ticket_with_its_first_text_sent(shop, worker)
    _in_doubt(sim, ctx, count=2)
    _text(shop, ticket["id"])
    _text(shop, ticket["id"])
    worker.drain()
    assert len(_ours(sim)) == 2
    for _ in range(4):
        clock.advance(timedelta(minutes=5))
        worker.drain()
    messages = _outbound(shop, ticket["id"])
    assert len(_ours(sim)) == 2  # nothing sent a third time
    assert sorted(m["provider_id"] for m in messages) == sorted(m["id"] for m in _ours(sim))


def test_flowroute_reads_every_page_of_a_busy_account(shops, sim, worker, ctx, clock):
    """210 other texts of the account in the window, before ours: more than one 200-MDR page, oldest first."""
    shop = flowroute_shop(shops, sim)
    _, ticket = _ticket_with_its_first_text_sent(shop, worker)
    key, secret = f"fr-{shop.id}", f"fr-secret-{shop.id}"
    with httpx.Client(base_url=sim.url, auth=(key, secret)) as api:
        for i in range(210):
            document = {"data": {"type": "message", "attributes": {
                "to": f"1206555{i:04d}", "from": shop.number.lstrip("+"), "body": f"other {i}"}}}
            assert api.post("/v2.1/messages", json=document,
                            headers={"Content-Type": "application/vnd.api+json"}).status_code == 202
    ctx.lookup_page_size = None  # Flowroute's own 200 a page
    _in_doubt(sim, ctx, "flowroute")
    _text(shop, ticket["id"])
    worker.drain()
    clock.advance(timedelta(minutes=5))
    worker.drain()
    [sent] = _ours(sim, "flowroute")
    [message] = _outbound(shop, ticket["id"])
    assert message["provider_id"] == sent["id"]


def test_the_page_bound_makes_the_look_up_incomplete_not_not_found(sim, simulator):
    twilio = TwilioProvider(httpx.Client(), simulator.url, TWILIO_SID, TWILIO_TOKEN, page_size=5, max_pages=2)
    text = OutboundText(to="+12065550100", from_="+12065550199", body=BODY, status_callback="http://x/cb")
    since = datetime.now(UTC)
    twilio.send(text)
    _busy_twilio(sim, text.from_, text.to, 12)
    with pytest.raises(ProviderError) as raised:
        twilio.find_sent(text, since, set())
    assert raised.value.code == "lookup_incomplete" and raised.value.retryable and raised.value.ambiguous
    wide = TwilioProvider(httpx.Client(), simulator.url, TWILIO_SID, TWILIO_TOKEN, page_size=5)
    assert wide.find_sent(text, since, set()).provider_id == _ours(sim)[0]["id"]
    assert wide.find_sent(text, since, {_ours(sim)[0]["id"]}) is None

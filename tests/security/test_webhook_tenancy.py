"""A webhook authenticated for one shop acts for that shop only: its `to` must be one of that shop's numbers on
the provider that called, and no text it causes can go from a number the caller chose."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    inbox,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    twilio_form,
)
from support.shops import fresh_number

from repairtext.adapters.db.models import Message


def stored_messages(ctx) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message))


def flowroute_inbound(live_server, token: str, sender: str, to: str, body: str, message_id: str) -> httpx.Response:
    document = {"data": {"id": message_id, "type": "message",
                         "attributes": {"from": sender.lstrip("+"), "to": to.lstrip("+"), "body": body,
                                        "direction": "inbound", "is_mms": False}}}
    return httpx.post(f"{live_server.url}/webhooks/flowroute/{token}/inbound", json=document, timeout=30)


def test_a_flowroute_shop_cannot_make_another_shops_twilio_number_answer_help(shops, sim, worker, live_server, ctx):
    victim = open_shop(shops, name="A")                       # on the built-in Twilio account
    attacker = flowroute_shop(shops, sim, name="B")
    worker.drain()
    before = stored_messages(ctx)
    target = fresh_number()                                   # whoever B wants texted from A's number

    response = flowroute_inbound(live_server, attacker.flowroute_token, target, victim.number, "HELP", "mdr2-attack-1")
    worker.drain()

    assert response.status_code == 200                        # answered, so Flowroute does not resend it
    assert stored_messages(ctx) == before                     # nothing stored, for B or for A
    assert [m for m in sim.messages("twilio") + sim.messages("flowroute") if target.lstrip("+") in m["to"]] == []
    assert inbox(attacker) == [] and inbox(victim) == []


def test_a_flowroute_webhook_to_a_number_of_another_flowroute_shop_is_dropped(shops, sim, worker, live_server, ctx):
    a, b = flowroute_shop(shops, sim, name="A"), flowroute_shop(shops, sim, name="B")
    customer = customer_with_number(a)
    ticket = a.ticket(customer["id"])
    worker.drain()
    before = stored_messages(ctx)

    response = flowroute_inbound(live_server, b.flowroute_token, phone_of(customer), a.number, "Cancel my repair",
                                 "mdr2-attack-2")

    assert response.status_code == 200
    assert stored_messages(ctx) == before
    assert customer_comments(a, ticket["id"]) == [] and inbox(a) == [] and inbox(b) == []


def test_a_flowroute_webhook_to_the_shops_own_built_in_number_is_dropped(shops, sim, live_server, ctx):
    """The token names the shop, but the built-in number is on the platform's account: Flowroute cannot
    deliver to it, so such a webhook is not Flowroute's."""
    shop = flowroute_shop(shops, sim)
    platform_number = next(n for n in shop.api.get("/api/v1/shop").json()["numbers"] if n != shop.number)

    response = flowroute_inbound(live_server, shop.flowroute_token, fresh_number(), platform_number, "HELP", "mdr2-x")

    assert response.status_code == 200 and stored_messages(ctx) == 0


def test_a_twilio_webhook_to_a_shops_flowroute_number_is_dropped(shops, sim, worker, live_server, ctx):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()
    before = stored_messages(ctx)
    url = live_server.url + TWILIO_INBOUND
    form = [(k, shop.number if k == "To" else v) for k, v in twilio_form(shop, phone_of(customer), "HELP")]

    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200
    worker.drain()

    assert stored_messages(ctx) == before
    assert customer_comments(shop, ticket["id"]) == []


def test_help_to_a_flowroute_shop_is_answered_from_its_own_flowroute_number(shops, sim, worker):
    shop = flowroute_shop(shops, sim)
    stranger = fresh_number()

    flowroute_text(sim, shop, stranger, "HELP")
    worker.drain()

    [answer] = [m for m in sim.messages("flowroute") if m["to"] == stranger.lstrip("+")]
    assert answer["from"] == shop.number.lstrip("+")
    assert [m for m in sim.messages("twilio") if m["to"] == stranger] == []

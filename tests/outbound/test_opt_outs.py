"""One answer to "may we text them?": an opt-out belongs to a number, is written by one writer (keywords, Twilio
21610 at send and in receipts) and read by one reader (queue time, send time, the API, the pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    customer_with_number,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    twilio_text,
)
from support.shops import eventually, fresh_number
from support.web import sign_in

from repairtext.services import opt_outs


def opted_out_at(shop, customer_id: int) -> str | None:
    return shop.api.get(f"/api/v1/customers/{customer_id}").json()["opted_out_at"]


def ticket_page(live_server, shop, ticket_id: int) -> str:
    with httpx.Client(base_url=live_server.url, timeout=30) as browser:
        assert sign_in(browser, shop.owner_email).status_code == 303
        return browser.get(f"/tickets/{ticket_id}").text


def test_stop_before_the_customer_existed_shows_everywhere_and_refuses(shops, sim, worker, live_server):
    shop = open_shop(shops)
    number = fresh_number()
    twilio_text(sim, shop, number, "STOP")

    created = shop.customer("Late Comer", phones=[{"number": number, "type": "mobile"}])
    assert created["opted_out_at"] is not None                       # the POST's answer says it
    assert opted_out_at(shop, created["id"]) == created["opted_out_at"]
    ticket = shop.ticket(created["id"])

    [message] = shop.messages(ticket_id=ticket["id"])
    assert message["status"] == "rejected" and message["error_code"] == "opted_out"
    assert "Cannot text: Late Comer replied STOP on" in ticket_page(live_server, shop, ticket["id"])
    worker.drain()
    assert [m for m in sim.messages() if m["to"] == number] == []


def test_a_customer_is_opted_out_while_any_of_their_numbers_is(shops, sim):
    shop = open_shop(shops)
    work, mobile = fresh_number(), fresh_number()
    twilio_text(sim, shop, work, "STOP")
    customer = shop.customer("Two Phones", phones=[{"number": mobile, "type": "mobile"}, {"number": work, "type": "work"}])

    assert customer["opted_out_at"] is not None
    ticket = shop.ticket(customer["id"])
    assert [m["error_code"] for m in shop.messages(ticket_id=ticket["id"])] == ["opted_out"]

    twilio_text(sim, shop, work, "START")
    assert opted_out_at(shop, customer["id"]) is None


def test_21610_at_send_opts_the_number_out_for_customers_added_later(shops, sim, worker):
    shop = open_shop(shops)
    first = customer_with_number(shop)
    sim.post("/_sim/optouts", {"from": shop.number, "to": phone_of(first)})
    shop.ticket(first["id"])
    worker.drain()

    again = shop.customer("Same Number", phones=[{"number": phone_of(first), "type": "mobile"}])
    assert again["opted_out_at"] is not None
    ticket = shop.ticket(again["id"])
    [message] = shop.messages(ticket_id=ticket["id"])
    assert message["error_code"] == "opted_out" and "carrier" in message["error"]


def test_21610_in_a_delivery_receipt_opts_the_number_out(shops, sim, worker, live_server):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()
    [sent] = eventually(lambda: [m for m in shop.messages(ticket_id=ticket["id"]) if m["provider_id"]])
    url = live_server.url + "/webhooks/twilio/status"
    form = [("MessageSid", sent["provider_id"]), ("MessageStatus", "failed"), ("ErrorCode", "21610")]

    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 204

    assert opted_out_at(shop, customer["id"]) is not None


def test_the_reader_answers_a_batch_across_shops_in_one_call(shops, ctx):
    a, b = open_shop(shops, name="A"), open_shop(shops, name="B")
    ann = customer_with_number(a)
    shared = phone_of(ann)
    stranger = fresh_number()
    earlier = datetime.now(UTC) - timedelta(days=3)
    with ctx.db.transaction() as session:
        opt_outs.do_opt_out(session, a.id, shared, earlier)
        opt_outs.do_opt_out(session, a.id, shared, datetime.now(UTC))   # the first time is kept
        opt_outs.do_opt_out(session, b.id, stranger, earlier, opt_outs.CARRIER)

    with ctx.db.transaction() as session:
        found = opt_outs.opted_out(session, [(a.id, None, ann["id"]), (b.id, shared, None), (b.id, stranger, None),
                                             (a.id, stranger, None)])

    assert set(found) == {(a.id, None, ann["id"]), (b.id, stranger, None)}   # an opt-out is one shop's
    assert found[(a.id, None, ann["id"])].since.date() == earlier.date()
    assert found[(b.id, stranger, None)].source == opt_outs.CARRIER

"""Who may be texted: every refusal is recorded with a reason a person can act on, and the API call succeeds."""

from __future__ import annotations

from datetime import UTC

import pytest
from support.shops import fresh_number


def _rejected(shop, ticket_id):
    [message] = [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound"]
    assert message["status"] == "rejected"
    notes = [c["body"] for c in shop.comments(ticket_id) if c["author"] == "system"]
    assert notes and not any(c["public"] for c in shop.comments(ticket_id) if c["author"] == "system")
    return message, notes[-1]


@pytest.mark.parametrize("phones, extra, code, words", [
    ([{"type": "home"}], {}, "no_mobile", "has no phone typed mobile (only home)"),
    ([], {}, "no_mobile", "has no mobile phone"),
    ([{"type": "mobile"}], {"sms_enabled": False}, "sms_disabled", "SMS is turned off for Jane"),
])
def test_customer_that_cannot_be_texted(shops, sim, worker, phones, extra, code, words):
    shop = shops.create()
    customer = shop.customer("Jane Cooper", phones=[{"number": fresh_number(), **p} for p in phones], **extra)
    ticket = shop.ticket(customer["id"])
    message, note = _rejected(shop, ticket["id"])
    assert message["error_code"] == code and words in message["error"]
    assert note.startswith("Not texted:") and words in note
    worker.drain()
    assert sim.messages() == []
    assert message["credits"] == 0


def test_opted_out_customer_is_refused_until_start(shops, sim, worker, ctx):
    from datetime import datetime

    from repairtext.services import opt_outs

    shop = shops.create()
    customer = shop.customer("Jane Cooper")
    with ctx.db.transaction() as session:
        opt_outs.do_opt_out(session, shop.id, customer["phones"][0]["number"], datetime(2026, 11, 2, tzinfo=UTC))
    ticket = shop.ticket(customer["id"])
    message, note = _rejected(shop, ticket["id"])
    assert message["error_code"] == "opted_out" and "replied STOP on 2026-11-02" in note


def test_flowroute_shop_without_credentials_is_refused(shops, ctx):
    from repairtext.adapters.db.models import Shop

    shop = shops.create()
    with ctx.db.transaction() as session:
        session.get(Shop, shop.id).provider = "flowroute"
    ticket = shop.ticket(shop.customer()["id"])
    message, _ = _rejected(shop, ticket["id"])
    assert message["error_code"] == "provider_not_configured" and "Flowroute access key" in message["error"]


def test_out_of_credits_is_refused_and_nothing_is_debited(shops, sim, worker):
    shop = shops.create(plan="starter")          # 25 credits a month
    ticket = shop.ticket(shop.customer()["id"])
    worker.drain()
    remaining = shop.credits()["total_remaining"]
    too_long = "x" * (153 * (remaining + 1))    # one segment more than is left
    r = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": too_long})
    assert r.status_code == 201
    rejected = [m for m in shop.messages(ticket_id=ticket["id"]) if m["status"] == "rejected"]
    assert rejected and rejected[0]["error_code"] == "insufficient_credits"
    assert f"only {remaining} remain" in rejected[0]["error"]
    assert shop.credits()["total_remaining"] == remaining
    worker.drain()
    assert len(sim.messages()) == 1


def test_flowroute_shop_sends_through_its_own_account_for_free(shops, sim, worker):
    shop, own = shops.create(), fresh_number()
    sim.post("/_sim/flowroute/accounts", {"access_key": "fr-key", "secret_key": "fr-secret",
                                          "numbers": [own.lstrip("+")], "sms_callback_url": "http://127.0.0.1:9/x"})
    r = shop.api.patch("/api/v1/shop", json={"flowroute_access_key": "fr-key", "flowroute_secret_key": "fr-secret",
                                             "provider": "flowroute", "numbers": [shop.number, own]})
    assert r.status_code == 200 and "flowroute_secret_key" not in r.json() and r.json()["provider"] == "flowroute"
    before = shop.credits()["total_remaining"]
    ticket = shop.ticket(shop.customer()["id"])
    worker.drain()
    [sent] = sim.messages("flowroute")
    assert sent["from"] == own.lstrip("+") and sent["id"].startswith("mdr2-")  # its own number, not the built-in one
    from support.shops import eventually

    [message] = eventually(lambda: [m for m in shop.messages(ticket_id=ticket["id"]) if m["status"] == "delivered"])
    assert message["provider"] == "flowroute" and message["credits"] == 0 and message["segments"] >= 1
    assert shop.credits()["total_remaining"] == before

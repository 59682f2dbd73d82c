"""Delivery receipts and inbound dedupe stay inside the provider account that delivered them: a shop's Flowroute
token reaches its own Flowroute messages only, parked or not; the platform's Twilio callbacks reach only texts
sent through the platform account; a shop cannot hide another shop's reply by posting its id first."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import func, insert, select
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    inbox,
    open_shop,
    phone_of,
    post_twilio,
    signature,
)
from support.shops import eventually

from repairtext.adapters.db.models import PendingReceipt
from repairtext.services import receipts
from repairtext.services.worker import Worker


def delivered_text(shop, worker):
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()
    [message] = eventually(lambda: [m for m in shop.messages(ticket_id=ticket["id"]) if m["status"] == "delivered"])
    return customer, ticket, message


def flowroute_status(live_server, token: str, provider_id: str, status: str, code: str | None = None) -> int:
    attributes = {"status": status, **({"status_code": code} if code else {})}
    document = {"data": {"id": provider_id, "type": "message", "attributes": attributes}}
    return httpx.post(f"{live_server.url}/webhooks/flowroute/{token}/status", json=document, timeout=30).status_code


def twilio_status(live_server, sid: str, status: str, code: str | None = None) -> int:
    url = live_server.url + "/webhooks/twilio/status"
    form = [("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("AccountSid", "AC" + "7e" * 16)]
    form += [("ErrorCode", code)] if code else []
    return post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code


def sweep(ctx) -> None:
    Worker(ctx, name="sweeper").housekeeping(force=True)


def test_another_shops_flowroute_status_never_reaches_a_message_parked_or_not(shops, sim, worker, live_server, ctx):
    victim, attacker = flowroute_shop(shops, sim, name="A"), flowroute_shop(shops, sim, name="B")
    customer, ticket, message = delivered_text(victim, worker)
    history = message["status_history"]

    assert flowroute_status(live_server, attacker.flowroute_token, message["provider_id"], "failed") == 200
    assert flowroute_status(live_server, attacker.flowroute_token, message["provider_id"], "smsc reject", "21610") == 200
    sweep(ctx)

    [after] = [m for m in victim.messages(ticket_id=ticket["id"]) if m["id"] == message["id"]]
    assert after["status"] == "delivered" and after["status_history"] == history
    assert victim.api.get(f"/api/v1/customers/{customer['id']}").json()["opted_out_at"] is None
    texted = victim.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "Still there?"})
    assert texted.status_code == 201
    assert [m["status"] for m in victim.messages(ticket_id=ticket["id"]) if m["body"] == "Still there?"] == ["queued"]


def test_a_twilio_status_never_reaches_a_shops_flowroute_message(shops, sim, worker, live_server, ctx):
    victim = flowroute_shop(shops, sim)
    customer, ticket, message = delivered_text(victim, worker)

    assert twilio_status(live_server, message["provider_id"], "failed", "21610") == 204
    sweep(ctx)

    [after] = [m for m in victim.messages(ticket_id=ticket["id"]) if m["id"] == message["id"]]
    assert after["status"] == "delivered"
    assert victim.api.get(f"/api/v1/customers/{customer['id']}").json()["opted_out_at"] is None


def test_a_shop_cannot_park_receipts_without_bound(shops, sim, live_server, ctx):
    attacker, other = flowroute_shop(shops, sim, name="B"), flowroute_shop(shops, sim, name="C")
    limit = receipts.PARKED_PER_ACCOUNT
    with ctx.db.transaction() as session:   # B has already parked all but five (a thousand requests are slow)
        session.execute(insert(PendingReceipt), [
            {"shop_id": attacker.id, "provider": "flowroute", "provider_id": f"mdr2-early-{i}",
             "provider_status": "delivered", "at": datetime.now(UTC)} for i in range(limit - 5)])
    for i in range(25):
        assert flowroute_status(live_server, attacker.flowroute_token, f"mdr2-unknown-{i}", "delivered") == 200
    # Replays of one receipt are kept once.
    for _ in range(5):
        assert flowroute_status(live_server, other.flowroute_token, "mdr2-not-yet", "delivered") == 200

    with ctx.db.transaction() as session:
        parked = dict(session.execute(select(PendingReceipt.shop_id, func.count()).group_by(PendingReceipt.shop_id)).all())
    assert parked == {attacker.id: limit, other.id: 1}


def test_a_shop_posting_another_shops_inbound_id_first_does_not_hide_the_reply(shops, sim, worker, live_server):
    victim, attacker = flowroute_shop(shops, sim, name="A"), flowroute_shop(shops, sim, name="B")
    customer = customer_with_number(victim)
    ticket = victim.ticket(customer["id"])
    worker.drain()
    stolen_id = "mdr2-0123456789abcdef"
    document = {"data": {"id": stolen_id, "type": "message",
                         "attributes": {"from": phone_of(customer).lstrip("+"), "to": attacker.number.lstrip("+"),
                                        "body": "first!", "direction": "inbound", "is_mms": False}}}
    url = f"{live_server.url}/webhooks/flowroute/{attacker.flowroute_token}/inbound"
    assert httpx.post(url, json=document, timeout=30).status_code == 200

    flowroute_text(sim, victim, phone_of(customer), "Yes, please go ahead", id=stolen_id)

    assert [c["body"] for c in customer_comments(victim, ticket["id"])] == ["Yes, please go ahead"]
    assert [row["body"] for row in inbox(attacker)] == ["first!"]


def test_replayed_status_callbacks_keep_one_event_per_status(shops, sim, worker, live_server):
    shop = open_shop(shops)
    _, ticket, message = delivered_text(shop, worker)
    before = len(message["status_history"])

    for _ in range(20):
        assert twilio_status(live_server, message["provider_id"], "delivered") == 204
        assert twilio_status(live_server, message["provider_id"], "sent") == 204

    [after] = [m for m in shop.messages(ticket_id=ticket["id"]) if m["id"] == message["id"]]
    statuses = [(e["status"], e["provider_status"]) for e in after["status_history"]]
    assert len(statuses) == len(set(statuses)) <= before + 1
    assert after["status"] == "delivered"

"""What is decided again when a queued text is finally sent: who owns the job, whether the customer opted out
meanwhile, and which provider the text was queued (and paid) for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from support.inbound import customer_with_number, phone_of, twilio_text
from support.shops import eventually, fresh_number

from repairtext.adapters.db.jobs import claim_due_jobs
from repairtext.adapters.db.models import Message, Shop
from repairtext.clock import SettableClock
from repairtext.services import receipts, sending


def _quiet_now(shop):
    now = datetime.now(ZoneInfo("America/Chicago"))
    window = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=2)).strftime("%H:%M")}
    assert shop.api.patch("/api/v1/shop", json={"quiet_hours": window}).status_code == 200


def test_a_worker_that_lost_its_lease_sends_nothing(shops, sim, ctx):
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = shops.create()
    shop.ticket(shop.customer()["id"])
    with ctx.db.transaction() as session:
        [job] = claim_due_jobs(session, "paused-worker", clock.now(), sending.LEASE, 10)
        job_id = job.id
    clock.advance(sending.LEASE + timedelta(seconds=1))   # the first worker stalls past its lease...
    with ctx.db.transaction() as session:                 # ...and another claims the job
        assert [j.id for j in claim_due_jobs(session, "second-worker", clock.now(), sending.LEASE, 10)] == [job_id]
    sending.process_send(ctx, job_id, "paused-worker")    # the first one wakes up: not its job any more
    assert sim.messages() == []
    sending.process_send(ctx, job_id, "second-worker")
    assert len(sim.messages()) == 1


def test_stop_while_a_text_waits_out_quiet_hours_cancels_it_and_refunds(shops, sim, worker, ctx):
    shop = shops.create()
    _quiet_now(shop)
    customer = customer_with_number(shop)
    before = shop.credits()["total_remaining"]
    ticket = shop.ticket(customer["id"])
    assert shop.credits()["total_remaining"] < before
    twilio_text(sim, shop, phone_of(customer), "STOP")
    ctx.clock = SettableClock(datetime.now(UTC) + timedelta(hours=3))
    worker.drain()
    assert [m for m in sim.messages() if m["to"] == phone_of(customer)] == []
    [held] = [m for m in shop.messages(ticket_id=ticket["id"]) if m["direction"] == "outbound"]
    assert held["status"] == "failed" and "replied STOP" in held["error"]
    assert shop.credits()["total_remaining"] == before


def test_stop_from_a_number_not_yet_on_file_holds_for_a_customer_added_later(shops, sim, worker):
    shop = shops.create()
    number = fresh_number()
    twilio_text(sim, shop, number, "STOP")
    customer = customer_with_number(shop, number, name="Late Comer")
    ticket = shop.ticket(customer["id"])
    [message] = [m for m in shop.messages(ticket_id=ticket["id"])]
    assert message["status"] == "rejected" and message["error_code"] == "opted_out"
    twilio_text(sim, shop, number, "START")
    comment = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "Welcome back"})
    assert comment.status_code == 201
    worker.drain()
    assert [m["body"] for m in sim.messages() if m["to"] == number] == ["Welcome back"]


def test_a_text_goes_through_the_provider_it_was_queued_for(shops, sim, worker, ctx):
    shop, own = shops.create(), fresh_number()
    sim.post("/_sim/flowroute/accounts", {"access_key": "k", "secret_key": "s", "numbers": [own.lstrip("+")],
                                          "sms_callback_url": "http://127.0.0.1:9/x"})
    shop.api.patch("/api/v1/shop", json={"flowroute_access_key": "k", "flowroute_secret_key": "s", "provider": "flowroute",
                                         "numbers": [shop.number, own]})
    _quiet_now(shop)
    before = shop.credits()["total_remaining"]
    shop.ticket(shop.customer()["id"])                          # queued, free, on Flowroute
    shop.api.patch("/api/v1/shop", json={"provider": "twilio"})  # then the shop switches back
    ctx.clock = SettableClock(datetime.now(UTC) + timedelta(hours=3))
    worker.drain()
    assert len(sim.messages("flowroute")) == 1 and sim.messages("twilio") == []
    assert shop.credits()["total_remaining"] == before


def test_unreadable_credentials_fail_the_text_instead_of_leaving_it_sending(shops, sim, worker, ctx):
    shop = shops.create()
    shop.api.patch("/api/v1/shop", json={"flowroute_access_key": "k", "flowroute_secret_key": "s", "provider": "flowroute",
                                         "numbers": [shop.number, fresh_number()]})
    with ctx.db.transaction() as session:
        session.get(Shop, shop.id).flowroute_secret_encrypted = "sealed-with-another-key"
    ticket = shop.ticket(shop.customer()["id"])
    worker.drain()
    [message] = [m for m in shop.messages(ticket_id=ticket["id"])]
    assert message["status"] == "failed" and "cannot be read" in message["error"]


def test_a_receipt_parked_before_its_message_was_recorded_is_applied_later(shops, sim, worker, ctx):
    from repairtext.services.worker import Worker

    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    assert receipts.do_record_receipt(ctx, "twilio", "SM" + "ab" * 16, "delivered", None) is False
    with ctx.db.transaction() as session:   # the worker's commit lands just after the receipt looked
        message = session.scalar(select(Message).where(Message.ticket_id == ticket["id"]))
        message.provider_id, message.status = "SM" + "ab" * 16, "accepted"
    Worker(ctx, name="sweeper").housekeeping(force=True)
    assert [m["status"] for m in shop.messages(ticket_id=ticket["id"])] == ["delivered"]


def test_a_flowroute_token_reaches_only_its_own_shops_messages(shops, sim, worker, live_server):
    import httpx

    victim, attacker, own = shops.create(name="Victim"), shops.create(name="Attacker"), fresh_number()
    sim.post("/_sim/flowroute/accounts", {"access_key": "vk", "secret_key": "vs", "numbers": [own.lstrip("+")],
                                          "sms_callback_url": "http://127.0.0.1:9/x"})
    victim.api.patch("/api/v1/shop", json={"flowroute_access_key": "vk", "flowroute_secret_key": "vs", "provider": "flowroute",
                                           "numbers": [victim.number, own]})
    ticket = victim.ticket(victim.customer()["id"])
    worker.drain()
    [message] = eventually(lambda: [m for m in victim.messages(ticket_id=ticket["id"]) if m["status"] == "delivered"])
    forged = {"data": {"id": message["provider_id"], "type": "message", "attributes": {"status": "failed"}}}
    r = httpx.post(f"{live_server.url}/webhooks/flowroute/{attacker.flowroute_token}/status", json=forged)
    assert r.status_code == 200
    assert victim.messages(ticket_id=ticket["id"])[0]["status"] == "delivered"

"""Exactly once, as the customer sees it, under injected provider faults and a worker that dies mid-send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from support.shops import eventually

from repairtext.adapters.db.jobs import claim_due_jobs
from repairtext.adapters.db.models import Job
from repairtext.clock import SettableClock


def _open_ticket_quietly(shop):
    """A ticket whose Initial Problem text is queued but not yet sent."""
    return shop.ticket(shop.customer()["id"])


def _message(shop, ticket_id):
    [m] = [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound"]
    return m


def test_5xx_then_success_sends_once(shops, sim, worker, ctx):
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = shops.create()
    ticket = _open_ticket_quietly(shop)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 500, "count": 1})
    worker.drain()
    m = _message(shop, ticket["id"])
    assert m["status"] == "queued" and "will retry" in m["error"]
    clock.advance(timedelta(minutes=5))
    worker.drain()
    assert len(sim.messages()) == 1
    assert _message(shop, ticket["id"])["provider_id"] == sim.messages()[0]["id"]


def test_timeout_after_the_provider_accepted_does_not_send_twice(shops, sim, worker, ctx):
    ctx.provider_timeout = 0.5
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = shops.create()
    ticket = _open_ticket_quietly(shop)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "accept_then_timeout", "delay": 2, "count": 1})
    worker.drain()
    assert len(sim.messages()) == 1          # the provider has it, but we never heard back
    assert _message(shop, ticket["id"])["provider_id"] is None
    clock.advance(timedelta(minutes=5))
    worker.drain()
    assert len(sim.messages()) == 1          # looked up, not re-sent
    assert _message(shop, ticket["id"])["provider_id"] == sim.messages()[0]["id"]


def test_worker_killed_mid_send_leaves_work_another_finishes_once(shops, sim, worker, ctx):
    """A worker claims the job, the provider accepts the text, and the worker dies before recording it."""
    from repairtext.services.sending import begin_attempts

    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = shops.create()
    ticket = _open_ticket_quietly(shop)
    with ctx.db.transaction() as session:
        [job] = claim_due_jobs(session, "doomed", clock.now(), timedelta(seconds=60), 10)
        job_id = job.id
    [attempt] = begin_attempts(ctx, [job_id], "doomed")
    attempt.provider.send(attempt.text)              # ...and the process dies here
    assert worker.drain() == 0                       # leased: nobody else may take it yet
    clock.advance(timedelta(seconds=61))
    assert worker.drain() == 1
    assert len(sim.messages()) == 1
    assert _message(shop, ticket["id"])["provider_id"] == sim.messages()[0]["id"]
    with ctx.db.transaction() as session:
        assert session.get(Job, job_id).state == "done"


def test_429_waits_at_least_retry_after(shops, sim, worker, ctx):
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = shops.create()
    _open_ticket_quietly(shop)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 429, "retry_after": 120, "count": 1})
    worker.drain()
    with ctx.db.transaction() as session:
        job = session.scalar(select(Job))
        assert job.state == "pending" and job.run_after >= clock.now() + timedelta(seconds=119)
    clock.advance(timedelta(seconds=60))
    assert worker.drain() == 0
    clock.advance(timedelta(seconds=61))
    worker.drain()
    assert len(sim.messages()) == 1


def test_permanent_error_fails_refunds_and_notes(shops, sim, worker):
    shop = shops.create()
    before = shop.credits()["total_remaining"]
    ticket = _open_ticket_quietly(shop)
    assert shop.credits()["total_remaining"] < before
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "twilio_error", "code": 21211, "count": 1})
    worker.drain()
    m = _message(shop, ticket["id"])
    assert m["status"] == "failed" and m["error_code"] == "21211"
    assert shop.credits()["total_remaining"] == before
    assert any("Text not sent" in c["body"] and not c["public"] for c in shop.comments(ticket["id"]))


def test_21610_marks_the_customer_opted_out(shops, sim, worker):
    shop = shops.create()
    customer = shop.customer()
    sim.post("/_sim/optouts", {"from": shop.number, "to": customer["phones"][0]["number"]})
    ticket = shop.ticket(customer["id"])
    worker.drain()
    assert _message(shop, ticket["id"])["error_code"] == "21610"
    assert shop.api.get(f"/api/v1/customers/{customer['id']}").json()["opted_out_at"] is not None
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "hello?"})
    assert [m["error_code"] for m in shop.messages(ticket_id=ticket["id"])][0] == "opted_out"


def test_receipts_out_of_order_and_duplicated_never_move_backwards(shops, sim, worker):
    shop = shops.create()
    ticket = _open_ticket_quietly(shop)
    worker.drain()
    eventually(lambda: _message(shop, ticket["id"])["status"] == "delivered")
    sid = sim.messages()[0]["id"]
    sim.post(f"/_sim/messages/{sid}/status", {"status": "sent"})
    sim.post(f"/_sim/messages/{sid}/status", {"status": "delivered"})
    m = _message(shop, ticket["id"])
    assert m["status"] == "delivered"
    late = [e for e in m["status_history"] if e["provider_status"] == "sent"]
    assert len(late) == 1 and late[0]["applied"] is True  # the replayed 'sent' adds nothing (one event a status)


def test_quiet_hours_hold_automatic_texts_but_not_typed_ones(shops, sim, worker, ctx):
    from zoneinfo import ZoneInfo

    shop = shops.create(time_zone="America/Chicago")
    now_local = datetime.now(ZoneInfo("America/Chicago"))
    start = (now_local - timedelta(hours=1)).strftime("%H:%M")
    end = (now_local + timedelta(hours=2)).strftime("%H:%M")
    assert shop.api.patch("/api/v1/shop", json={"quiet_hours": {"start": start, "end": end}}).status_code == 200
    ticket = shop.ticket(shop.customer()["id"])
    held = _message(shop, ticket["id"])
    assert held["status"] == "queued" and datetime.fromisoformat(held["send_after"]) > datetime.now(UTC)
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "Typed now"})
    worker.drain()
    assert [m["body"] for m in sim.messages()] == ["Typed now"]
    ctx.clock = SettableClock(datetime.now(UTC) + timedelta(hours=2, minutes=1))
    worker.drain()
    assert len(sim.messages()) == 2

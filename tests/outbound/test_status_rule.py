"""One status-transition rule, used by every writer: final states never move; otherwise only forward by rank."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.inbound import customer_with_number, open_shop, phone_of, twilio_text

from repairtext.adapters.db.jobs import claim_due_jobs
from repairtext.clock import SettableClock
from repairtext.domain.message_status import FINAL, RANK, may_come_from, next_status
from repairtext.services.sending import LEASE, attempt_send, begin_attempts, record_outcomes


@pytest.mark.parametrize("final", sorted(FINAL))
def test_a_final_status_never_moves(final):
    assert all(next_status(final, proposed) is None for proposed in RANK)
    assert all(final not in may_come_from(proposed) for proposed in RANK)


def test_statuses_move_only_forward_except_an_attempt_back_to_the_queue():
    assert next_status("sent", "accepted") is None
    assert next_status("accepted", "sent") == "sent"
    assert next_status("accepted", "delivered") == "delivered"
    assert next_status("sending", "queued") == "queued"
    assert next_status("accepted", "queued") is None
    assert may_come_from("accepted") == {"queued", "sending"}


def _outbound(shop, ticket_id) -> dict:
    [message] = [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound"]
    return message


def test_a_late_acceptance_does_not_revive_a_text_failed_for_stop(shops, sim, worker, ctx):
    """Worker `stalled` sends, then pauses past its lease; the customer texts STOP; the worker that takes the job
    over fails the text and refunds it; then `stalled` wakes and reports the provider's acceptance."""
    ctx.clock = clock = SettableClock(datetime.now(UTC))
    shop = open_shop(shops)
    credits_before = shop.credits()["total_remaining"]
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    with ctx.db.transaction() as session:
        [job] = claim_due_jobs(session, "stalled", clock.now(), LEASE, 10)
    [attempt] = begin_attempts(ctx, [job.id], "stalled")
    # No status callback on this attempt: the provider's receipts come after the worker records its outcome
    # (as they do at a real provider, seconds later), so the common, batched path records it.
    attempt = dataclasses.replace(attempt, text=dataclasses.replace(attempt.text, status_callback=None))
    outcome = attempt_send(ctx, attempt, "stalled", time.monotonic())
    assert outcome.receipt is not None and len(sim.messages()) == 1

    clock.advance(LEASE + timedelta(seconds=1))
    twilio_text(sim, shop, phone_of(customer), "STOP")
    assert worker.drain() >= 1
    failed = _outbound(shop, ticket["id"])
    assert failed["status"] == "failed"
    assert shop.credits()["total_remaining"] == credits_before

    record_outcomes(ctx, "stalled", [outcome])
    after = _outbound(shop, ticket["id"])
    assert after["status"] == "failed", after
    assert after["error"] == failed["error"]
    assert shop.credits()["total_remaining"] == credits_before

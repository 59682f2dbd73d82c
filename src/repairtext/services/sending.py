"""Carrying out one queued send, exactly once as the customer sees it.

The provider is called outside any transaction. Before a message that was attempted before is sent again,
the provider is asked whether it already has it (a timeout or a 5xx may hide an accepted send, and a worker
may have died between the provider's answer and our commit): one outbox row, one provider id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from repairtext.adapters.db.models import Customer, Job, Message, Shop, Ticket
from repairtext.adapters.providers.base import OutboundText, ProviderError, SendReceipt
from repairtext.bootstrap import Context
from repairtext.services import credits
from repairtext.services.comments import add_system_note
from repairtext.services.outbound import status_callback_url
from repairtext.services.receipts import apply_pending_receipts, set_status

MAX_BACKOFF = timedelta(minutes=30)


@dataclass(frozen=True)
class Attempt:
    text: OutboundText
    provider_name: str
    look_up_first: bool
    since: datetime
    known_ids: set[str]


def backoff(attempt: int, retry_after: float | None) -> timedelta:
    """Exponential with full jitter; a provider's Retry-After is a floor."""
    base = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** max(attempt - 1, 0))
    delay = random.uniform(base / 2, base)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def _begin_attempt(ctx: Context, job_id: int) -> tuple[Attempt | None, Shop | None]:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        message = session.get(Message, job.message_id)
        if message.status not in ("queued", "sending") or message.provider_id:
            job.state, job.finished_at = "done", now  # already carried out by an earlier attempt
            return None, None
        shop = session.get(Shop, message.shop_id)
        _ = shop.numbers
        look_up_first = message.send_attempts > 0
        message.send_attempts += 1
        message.first_attempt_at = message.first_attempt_at or now
        message.status, message.updated_at = "sending", now
        known = set(session.scalars(select(Message.provider_id).where(
            Message.shop_id == shop.id, Message.to_number == message.to_number, Message.provider_id.is_not(None))))
        text = OutboundText(to=message.to_number, from_=message.from_number, body=message.body,
                            status_callback=status_callback_url(ctx, shop))
        return Attempt(text, shop.provider, look_up_first, message.first_attempt_at, known), shop


def process_send(ctx: Context, job_id: int) -> None:
    attempt, shop = _begin_attempt(ctx, job_id)
    if attempt is None:
        return
    provider = ctx.provider_for(shop)
    try:
        if provider is None:
            raise ProviderError("the shop's SMS provider is not configured", code="not_configured")
        receipt = None
        if attempt.look_up_first:
            receipt = provider.find_sent(attempt.text, attempt.since, attempt.known_ids)
        if receipt is None:
            receipt = provider.send(attempt.text)
    except ProviderError as error:
        _record_failure(ctx, job_id, error)
        return
    _record_success(ctx, job_id, receipt)


def _record_success(ctx: Context, job_id: int, receipt: SendReceipt) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        message = session.get(Message, job.message_id)
        message.provider_id = receipt.provider_id
        message.error, message.error_code = None, None
        set_status(session, message, "accepted", now, provider_status=receipt.status)
        apply_pending_receipts(ctx, session, message, now)
        job.state, job.finished_at, job.last_error = "done", now, None


def _record_failure(ctx: Context, job_id: int, error: ProviderError) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        message = session.get(Message, job.message_id)
        job.last_error = str(error)
        if error.retryable and job.attempts < job.max_attempts:
            job.state, job.run_after, job.lease_until = "pending", now + backoff(job.attempts, error.retry_after), None
            message.status, message.error, message.updated_at = "queued", f"will retry: {error}", now
            return
        job.state, job.finished_at = "failed", now
        message.error_code, message.error = error.code, error.message
        set_status(session, message, "failed", now, error_code=error.code)
        shop = session.get(Shop, message.shop_id)
        if message.credits:
            credits.refund(ctx, session, shop, message, f"send failed ({error.code or 'error'})")
        if error.opted_out and message.customer_id:
            customer = session.get(Customer, message.customer_id)
            customer.opted_out_at = customer.opted_out_at or now
        if message.ticket_id:
            ticket = session.get(Ticket, message.ticket_id)
            add_system_note(session, ticket, f"Text not sent: {error}.", now)

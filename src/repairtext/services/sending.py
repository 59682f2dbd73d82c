"""Carrying out one queued send, exactly once as the customer sees it.

The provider is called outside any transaction. Before a message that was attempted before is sent again,
the provider is asked whether it already has it (a timeout or a 5xx may hide an accepted send, and a worker
may have died between the provider's answer and our commit): one outbox row, one provider id.

A job belongs to the worker that claimed it only while its lease runs. Each step checks that it still owns
the job (and renews the lease before calling the provider), so a worker that lost its lease, say after a
long pause, never sends, fails or refunds a job another worker has taken over.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, Job, Message, Shop, Ticket
from repairtext.adapters.providers.base import OutboundText, ProviderError, SendReceipt
from repairtext.bootstrap import Context
from repairtext.services import credits, opt_outs
from repairtext.services.comments import add_system_note
from repairtext.services.outbound import status_callback_url
from repairtext.services.receipts import apply_pending_receipts, set_status

MAX_BACKOFF = timedelta(minutes=30)
# Covers a look-up and a send, each bounded by the provider timeout, with room to spare.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Attempt:
    text: OutboundText
    provider_name: str
    look_up_first: bool
    since: datetime
    known_ids: set[str]


class NotSendable(Exception):
    """The text may no longer go (the customer opted out while it waited); it fails with this reason."""


def backoff(attempt: int, retry_after: float | None) -> timedelta:
    """Exponential with full jitter; a provider's Retry-After is a floor."""
    base = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** max(attempt - 1, 0))
    delay = random.uniform(base / 2, base)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def _owned_job(session: Session, job_id: int, owner: str, now: datetime) -> Job | None:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.state != "running" or job.locked_by != owner:
        return None
    return job


def _begin_attempt(ctx: Context, job_id: int, owner: str) -> Attempt | None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = _owned_job(session, job_id, owner, now)
        if job is None:
            return None
        message = session.get(Message, job.message_id)
        if message.status not in ("queued", "sending") or message.provider_id:
            job.state, job.finished_at = "done", now  # already carried out by an earlier attempt
            return None
        job.lease_until = now + LEASE
        refusal = opt_outs.refusal_at_send_time(session, message)
        if refusal:
            _fail(ctx, session, job, message, None, refusal, now)
            return None
        look_up_first = message.send_attempts > 0
        message.send_attempts += 1
        message.first_attempt_at = message.first_attempt_at or now
        message.status, message.updated_at = "sending", now
        known = set(session.scalars(select(Message.provider_id).where(
            Message.shop_id == message.shop_id, Message.to_number == message.to_number,
            Message.provider_id.is_not(None))))
        shop = session.get(Shop, message.shop_id)
        text = OutboundText(to=message.to_number, from_=message.from_number, body=message.body,
                            status_callback=status_callback_url(ctx, shop, message.provider))
        return Attempt(text, message.provider, look_up_first, message.first_attempt_at, known)


def _provider(ctx: Context, shop_id: int, name: str):
    """The provider the message was queued (and paid) for, not whatever the shop uses now."""
    with ctx.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        try:
            provider = ctx.provider_named(name, shop)
        except Exception as exc:  # e.g. a Flowroute secret sealed with another REPAIRTEXT_SECRET_KEY
            raise ProviderError(f"the shop's {name} credentials cannot be read ({type(exc).__name__})",
                                code="credentials") from exc
    if provider is None:
        raise ProviderError(f"the shop's {name} account is not configured", code="not_configured")
    return provider


def process_send(ctx: Context, job_id: int, owner: str) -> None:
    attempt = _begin_attempt(ctx, job_id, owner)
    if attempt is None:
        return
    with ctx.db.transaction() as session:
        shop_id = session.get(Job, job_id).shop_id
    receipt = None
    try:
        provider = _provider(ctx, shop_id, attempt.provider_name)
        if attempt.look_up_first:
            receipt = provider.find_sent(attempt.text, attempt.since, attempt.known_ids)
        if receipt is None:
            receipt = provider.send(attempt.text)
    except ProviderError as error:
        if error.ambiguous and _is_last_attempt(ctx, job_id):
            receipt = _last_look_up(provider, attempt)
        if receipt is None:
            _record_failure(ctx, job_id, owner, error)
            return
    _record_success(ctx, job_id, owner, receipt)


def _is_last_attempt(ctx: Context, job_id: int) -> bool:
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        return job.attempts >= job.max_attempts


def _last_look_up(provider, attempt: Attempt) -> SendReceipt | None:
    """Before giving up after an answer we never got, ask once more: it may well have been delivered."""
    try:
        return provider.find_sent(attempt.text, attempt.since, attempt.known_ids)
    except ProviderError:
        return None


def _record_success(ctx: Context, job_id: int, owner: str, receipt: SendReceipt) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id, with_for_update=True)
        message = session.get(Message, job.message_id, with_for_update=True)
        if message.provider_id is None:
            # Recorded even if our lease ran out meanwhile: the text went, and whoever holds the job now
            # will find the provider id and stop.
            message.provider_id = receipt.provider_id
            message.error, message.error_code = None, None
            set_status(session, message, "accepted", now, provider_status=receipt.status)
            apply_pending_receipts(ctx, session, message, now)
        if job.state == "running" and job.locked_by == owner:
            job.state, job.finished_at, job.last_error = "done", now, None


def _record_failure(ctx: Context, job_id: int, owner: str, error: ProviderError) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = _owned_job(session, job_id, owner, now)
        if job is None:
            return  # another worker owns the job now; its outcome is its own
        message = session.get(Message, job.message_id, with_for_update=True)
        if message.provider_id:
            job.state, job.finished_at = "done", now
            return
        job.last_error = str(error)
        if error.retryable and job.attempts < job.max_attempts:
            job.state, job.run_after, job.lease_until = "pending", now + backoff(job.attempts, error.retry_after), None
            message.status, message.error, message.updated_at = "queued", f"will retry: {error}", now
            return
        _fail(ctx, session, job, message, error.code, error.message, now, opted_out=error.opted_out)


def _fail(ctx: Context, session: Session, job: Job, message: Message, code: str | None, reason: str,
          now: datetime, opted_out: bool = False) -> None:
    """The text will not go: fail it, give its credits back, tell staff on the ticket."""
    job.state, job.finished_at = "failed", now
    message.error_code, message.error = code, reason
    set_status(session, message, "failed", now, error_code=code)
    if message.credits:
        credits.refund(ctx, session, session.get(Shop, message.shop_id), message, f"send failed ({code or 'error'})")
    if opted_out and message.customer_id:
        customer = session.get(Customer, message.customer_id)
        customer.opted_out_at = customer.opted_out_at or now
        opt_outs.record_opt_out(session, message.shop_id, message.to_number, now)
    if message.ticket_id:
        ticket = session.get(Ticket, message.ticket_id)
        label = f"{code}: {reason}" if code else reason
        add_system_note(session, ticket, f"Text not sent: {label}.", now)


def fail_after_crash(ctx: Context, job_id: int, reason: str) -> None:
    """A job that kept crashing (not a provider answer): the message must not sit in 'sending' forever."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id, with_for_update=True)
        message = session.get(Message, job.message_id, with_for_update=True)
        if message.provider_id or message.status not in ("queued", "sending"):
            job.state, job.finished_at = "done", now
            return
        _fail(ctx, session, job, message, "internal", reason, now)

"""Carrying out queued sends, exactly once as the customer sees it.

A worker sends claimed jobs in three steps: one transaction marks a claim's texts `sending` (after checking
each is still this worker's and may still go), each provider call runs on a thread outside any transaction, and
the outcomes are recorded as they come in, those that finished together in one transaction (services/worker.py):
the database work per text is a share of a few transactions, and no text waits for a slow one's answer.

Before a message that was attempted before is sent again, the provider is asked whether it already has it (a
timeout or a 5xx may hide an accepted send, and a worker may have died between the provider's answer and our
commit): one outbox row, one provider id.

A job belongs to the worker that claimed it only while its lease runs. Each step checks that it still owns
the job, and each provider call is made only while the lease is known to be ours (renewed in the database right
before the call unless it was renewed moments ago), so a worker that lost its lease, say paused during a
look-up, never sends, fails or refunds a job another worker has taken over. Status changes follow the one rule
of domain/message_status.py, so a late report never takes a text back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from repairtext.adapters import logs
from repairtext.adapters.db.jobs import renew_lease
from repairtext.adapters.db.models import Job, Message, PendingReceipt, Shop, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.adapters.db.statuses import StatusReport, write_statuses
from repairtext.adapters.providers.base import OutboundText, Provider, ProviderError, SendReceipt
from repairtext.bootstrap import Context
from repairtext.services import credits, opt_outs
from repairtext.services.comments import add_system_note
from repairtext.services.outbound import status_callback_url
from repairtext.services.receipts import apply_pending_receipts, set_status

log = logging.getLogger("repairtext.sending")
MAX_BACKOFF = timedelta(minutes=30)
# Covers a look-up and a send, each bounded by the provider timeout, with room to spare (the default of
# REPAIRTEXT_JOB_LEASE_SECONDS; tests shorten it to pause a worker past it).
LEASE = timedelta(seconds=60)


def lease(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.settings.job_lease_seconds)


@dataclass(frozen=True)
class Attempt:
    job_id: int
    message_id: int
    text: OutboundText
    provider: Provider | ProviderError
    look_up_first: bool
    since: datetime
    known_ids: frozenset[str]
    shop_id: int | None = None

    @property
    def provider_name(self) -> str:
        return "the provider" if isinstance(self.provider, ProviderError) else self.provider.name


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    receipt: SendReceipt | None = None
    error: ProviderError | None = None
    not_started: bool = False

    @property
    def accepted_receipt(self) -> SendReceipt:
        """The receipt of an outcome already known to have one (the provider took the text)."""
        if self.receipt is None:
            raise ValueError(f"job {self.attempt.job_id}: the outcome has no receipt")
        return self.receipt


def backoff(attempt: int, retry_after: float | None) -> timedelta:
    """Exponential with full jitter; a provider's Retry-After is a floor."""
    base = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** max(attempt - 1, 0))
    delay = random.uniform(base / 2, base)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def process_send(ctx: Context, job_id: int, owner: str) -> None:
    """One job, start to end, on this thread (the worker's path for a claim of one)."""
    renewed_at = time.monotonic()
    attempts = begin_attempts(ctx, [job_id], owner)
    record_outcomes(ctx, owner, [attempt_send(ctx, a, owner, renewed_at) for a in attempts])


def _owned(job: Job | None, owner: str) -> bool:
    return job is not None and job.state == "running" and job.locked_by == owner


_BATCH_COLUMNS = (Message.id, Message.shop_id, Message.status, Message.provider_id, Message.provider, Message.trigger,
                  Message.to_number, Message.from_number, Message.body, Message.customer_id, Message.send_attempts,
                  Message.first_attempt_at)


def begin_attempts(ctx: Context, job_ids: list[int], owner: str) -> list[Attempt]:
    """Renew the lease of the jobs still ours, and mark their texts `sending`, in a few statements a batch."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        db = session.connection()
        owned = sorted(db.execute(
            update(Job).where(Job.id.in_(job_ids), Job.state == "running", Job.locked_by == owner)
            .values(lease_until=now + lease(ctx)).returning(Job.id, Job.message_id)).all())
        if not owned:
            return []
        rows = {r.id: r for r in db.execute(select(*_BATCH_COLUMNS).where(
            Message.id.in_([message_id for _, message_id in owned])).with_for_update())}
        shops = {s.id: s for s in session.scalars(select(Shop).where(Shop.id.in_({r.shop_id for r in rows.values()})))}
        stopped = _opted_out(session, rows.values())
        providers: dict[tuple[int, str], Provider | ProviderError] = {}
        attempts: list[Attempt] = []
        fresh: list[int] = []
        retried: list[int] = []
        already_sent: list[int] = []
        for job_id, message_id in owned:
            m = rows[message_id]
            if m.status not in ("queued", "sending") or m.provider_id:
                already_sent.append(job_id)  # carried out by an earlier attempt
                continue
            if m.id in stopped:
                _fail(ctx, session, must_get(session, Job, job_id), must_get(session, Message, m.id), None, stopped[m.id], now)
                continue
            shop = shops[m.shop_id]
            key = (shop.id, m.provider)
            if key not in providers:
                providers[key] = _provider(ctx, shop, m.provider)
            look_up_first = m.send_attempts > 0
            (retried if m.first_attempt_at else fresh).append(m.id)
            text = OutboundText(to=m.to_number, from_=m.from_number, body=m.body,
                                status_callback=status_callback_url(ctx, shop, m.provider))
            attempts.append(Attempt(job_id, m.id, text, providers[key], look_up_first, m.first_attempt_at or now,
                                    _known_ids(session, m) if look_up_first else frozenset(), m.shop_id))
        sending = {"status": "sending", "send_attempts": Message.send_attempts + 1, "updated_at": now}
        if fresh:
            db.execute(update(Message).where(Message.id.in_(fresh)).values(**sending, first_attempt_at=now))
        if retried:
            db.execute(update(Message).where(Message.id.in_(retried)).values(**sending))
        if already_sent:
            db.execute(update(Job).where(Job.id.in_(already_sent)).values(state="done", finished_at=now))
        return attempts


def _opted_out(session: Session, messages: Iterable) -> dict[int, str]:
    """Messages whose recipient opted out while they waited (quiet hours, retries), with the reason."""
    candidates = [m for m in messages if m.trigger not in opt_outs.ALWAYS_ALLOWED_TRIGGERS]
    found = opt_outs.opted_out(session, [(m.shop_id, m.to_number, m.customer_id) for m in candidates])
    return {m.id: f"{hit.reason} while the text was waiting" for m in candidates
            if (hit := found.get((m.shop_id, m.to_number, m.customer_id)))}


def _known_ids(session: Session, message) -> frozenset[str]:
    """Provider ids already ours for this recipient: a look-up must not mistake one of them for this text."""
    return frozenset(session.scalars(select(Message.provider_id).where(
        Message.shop_id == message.shop_id, Message.direction == "outbound",
        Message.to_number == message.to_number, Message.provider_id.is_not(None))))


def _provider(ctx: Context, shop: Shop, name: str) -> Provider | ProviderError:
    """The provider the message was queued (and paid) for, not whatever the shop uses now."""
    try:
        provider = ctx.provider_named(name, shop)
    except Exception as exc:  # e.g. a Flowroute secret sealed with another REPAIRTEXT_SECRET_KEY
        return ProviderError(f"the shop's {name} credentials cannot be read ({type(exc).__name__})", code="credentials")
    return provider or ProviderError(f"the shop's {name} account is not configured", code="not_configured")


def attempt_send(ctx: Context, attempt: Attempt, owner: str, renewed_at: float) -> Outcome:
    """The provider calls, outside any transaction. `renewed_at` (time.monotonic()) is when the job's lease was
    last renewed; each provider call is made only while the lease is known to be ours (_hold_lease)."""
    with logs.about_message(attempt.message_id):  # every line about this text, the provider's too, says which
        outcome = _attempt_send(ctx, attempt, owner, renewed_at)
        if outcome.error is not None:
            log.warning("%s did not take text %s: %s", attempt.provider_name, attempt.message_id, outcome.error)
        elif outcome.receipt is not None:
            log.debug("%s took text %s as %s", attempt.provider_name, attempt.message_id, outcome.receipt.provider_id)
        return outcome


def _attempt_send(ctx: Context, attempt: Attempt, owner: str, renewed_at: float) -> Outcome:
    provider = attempt.provider
    if isinstance(provider, ProviderError):
        return Outcome(attempt, error=provider)
    try:
        receipt = None
        if attempt.look_up_first:
            if (held := _hold_lease(ctx, attempt.job_id, owner, renewed_at)) is None:
                return Outcome(attempt, not_started=True)
            renewed_at = held
            receipt = provider.find_sent(attempt.text, attempt.since, set(attempt.known_ids))
        if receipt is None:
            # Checked again after the look-up: a worker paused during it (or stalled for any reason) past its
            # lease may find nothing, while the worker that took the job over has sent it already.
            if _hold_lease(ctx, attempt.job_id, owner, renewed_at) is None:
                return Outcome(attempt, not_started=True)
            receipt = provider.send(attempt.text)
        return Outcome(attempt, receipt=receipt)
    except ProviderError as error:
        return Outcome(attempt, error=error)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the provider may have the text: look it up next time
        return Outcome(attempt, error=ProviderError(f"unexpected error talking to the provider: {exc!r}",
                                                    retryable=True, ambiguous=True))


def _hold_lease(ctx: Context, job_id: int, owner: str, renewed_at: float) -> float | None:
    """Whether the job is still ours to call the provider for: yes without asking while its lease, renewed at
    `renewed_at`, has two thirds of its length to run; otherwise it is renewed in the database, in a short
    transaction of its own, only if it has not run out (None: it has, and another worker may own the job)."""
    now_monotonic = time.monotonic()
    if now_monotonic - renewed_at < lease(ctx).total_seconds() / 3:
        return renewed_at
    with ctx.db.transaction() as session:
        renewed = renew_lease(session, job_id, owner, ctx.clock.now(), lease(ctx))
    return now_monotonic if renewed else None


def _last_look_up(attempt: Attempt) -> SendReceipt | None:
    """Before giving up after an answer we never got, ask once more: it may well have been delivered."""
    if isinstance(attempt.provider, ProviderError):
        return None  # no provider to ask (its credentials could not be read)
    try:
        return attempt.provider.find_sent(attempt.text, attempt.since, set(attempt.known_ids))
    except ProviderError:
        return None


def _settle_ambiguous(ctx: Context, outcome: Outcome) -> Outcome:
    """The last try of a text whose answer never came: look it up once more before calling it failed."""
    if outcome.error is None or not outcome.error.ambiguous:
        return outcome
    with ctx.db.transaction() as session:
        job = must_get(session, Job, outcome.attempt.job_id)
        last = job.attempts >= job.max_attempts
    receipt = _last_look_up(outcome.attempt) if last else None
    return Outcome(outcome.attempt, receipt=receipt) if receipt is not None else outcome


def record_outcomes(ctx: Context, owner: str, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    outcomes = [_settle_ambiguous(ctx, o) for o in outcomes]
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        outcomes = _one_text_per_provider_message(session, outcomes)
        accepted = [o for o in outcomes if o.receipt is not None]
        parked = set(session.scalars(select(PendingReceipt.provider_id).where(
            PendingReceipt.provider_id.in_([o.accepted_receipt.provider_id for o in accepted])))) if accepted else set()
        plain = [o for o in accepted if o.accepted_receipt.provider_id not in parked]
        _record_accepted(session, owner, plain, now)
        recorded = {id(o) for o in plain}  # by identity: comparing Outcomes field by field is slow
        rest = [o for o in outcomes if id(o) not in recorded]
        if not rest:
            return
        jobs = {j.id: j for j in session.scalars(select(Job).where(
            Job.id.in_([o.attempt.job_id for o in rest])).with_for_update())}
        messages = {m.id: m for m in session.scalars(select(Message).where(
            Message.id.in_([o.attempt.message_id for o in rest])).with_for_update())}
        for outcome in rest:
            job, message = jobs[outcome.attempt.job_id], messages[outcome.attempt.message_id]
            if outcome.receipt is not None:
                _record_success(ctx, session, job, message, owner, outcome.receipt, parked, now)
            elif outcome.not_started:  # the lease ran out before the provider was called
                if _owned(job, owner):
                    job.state, job.lease_until = "pending", None
                    _back_to_queue(session, message, now)
            elif outcome.error is None:
                raise ValueError(f"job {job.id}: an outcome with neither a receipt nor an error")
            else:
                _record_failure(ctx, session, job, message, owner, outcome.error, now)


def _one_text_per_provider_message(session: Session, outcomes: list[Outcome]) -> list[Outcome]:
    """Look-ups of two texts with the same words to the same customer can find the same provider message (in
    one batch, or one recorded meanwhile). It belongs to one text only; the other stays in doubt and looks
    again later with that id excluded, so it finds its own message (and the batch never trips the unique
    provider id and rolls back)."""
    found = [o for o in outcomes if o.receipt is not None]
    if not found:
        return outcomes
    owners = {(provider, pid): mid for provider, pid, mid in session.execute(
        select(Message.provider, Message.provider_id, Message.id).where(
            Message.provider_id.in_({o.accepted_receipt.provider_id for o in found})))}
    kept = []
    for o in outcomes:
        if o.receipt is not None:
            key = (getattr(o.attempt.provider, "name", ""), o.receipt.provider_id)
            owner = owners.setdefault(key, o.attempt.message_id)
            if owner != o.attempt.message_id:
                o = Outcome(o.attempt, error=ProviderError(
                    f"the provider message {o.receipt.provider_id} is another text's; looking again later",
                    code="lookup_claimed", retryable=True, ambiguous=True))
        kept.append(o)
    return kept


def _record_accepted(session: Session, owner: str, outcomes: list[Outcome], now: datetime) -> None:
    """The common case, for a whole batch in a few statements: the provider took the texts. The same rules as
    _record_success: the id is recorded unless the message already has one, the status moves as the status
    rule allows (a text failed meanwhile stays failed), and the job closes only if ours."""
    if not outcomes:
        return
    db = session.connection()
    unsent = set(db.execute(select(Message.id).where(
        Message.id.in_([o.attempt.message_id for o in outcomes]), Message.provider_id.is_(None)).with_for_update()
    ).scalars())
    fresh = [o for o in outcomes if o.attempt.message_id in unsent]
    if fresh:
        db.execute(_RECORD_PROVIDER_ID, [{"b_id": o.attempt.message_id, "b_pid": o.accepted_receipt.provider_id} for o in fresh])
        write_statuses(session, [StatusReport(o.attempt.message_id, "accepted", provider_status=o.accepted_receipt.status)
                                 for o in fresh], now, clear_error=True)
    db.execute(_CLOSE_JOB, [{"b_id": o.attempt.job_id, "b_owner": owner, "b_now": now} for o in outcomes])


_RECORD_PROVIDER_ID = (update(Message).where(Message.id == bindparam("b_id"), Message.provider_id.is_(None))
                       .values(provider_id=bindparam("b_pid")))
_CLOSE_JOB = (update(Job).where(Job.id == bindparam("b_id"), Job.state == "running", Job.locked_by == bindparam("b_owner"))
              .values(state="done", finished_at=bindparam("b_now"), last_error=None))


def _record_success(ctx: Context, session: Session, job: Job, message: Message, owner: str,
                    receipt: SendReceipt, parked: set[str], now: datetime) -> None:
    if message.provider_id is None:
        # Recorded even if our lease ran out meanwhile: the text went, and whoever holds the job now will
        # find the provider id and stop.
        message.provider_id = receipt.provider_id
        if set_status(session, message, "accepted", now, provider_status=receipt.status):
            message.error, message.error_code = None, None
        if receipt.provider_id in parked:
            apply_pending_receipts(ctx, session, message, now)
    if _owned(job, owner):
        job.state, job.finished_at, job.last_error = "done", now, None


def _record_failure(ctx: Context, session: Session, job: Job, message: Message, owner: str,
                    error: ProviderError, now: datetime) -> None:
    if not _owned(job, owner):
        return  # another worker owns the job now; its outcome is its own
    if message.provider_id:
        job.state, job.finished_at = "done", now
        return
    job.last_error = str(error)
    if error.retryable and job.attempts < job.max_attempts:
        job.state, job.run_after, job.lease_until = "pending", now + backoff(job.attempts, error.retry_after), None
        _back_to_queue(session, message, now)
        message.error = f"will retry: {error}"
        return
    _fail(ctx, session, job, message, error.code, error.message, now, opted_out=error.opted_out)


def _back_to_queue(session: Session, message: Message, now: datetime) -> None:
    """An attempt that did not reach the provider: the text waits for its retry (the rule's one move back)."""
    write_statuses(session, [StatusReport(message.id, "queued")], now, history=False)


def _fail(ctx: Context, session: Session, job: Job, message: Message, code: str | None, reason: str,
          now: datetime, opted_out: bool = False) -> None:
    """The text will not go: fail it, give its credits back, tell staff on the ticket."""
    job.state, job.finished_at = "failed", now
    # A text that went or failed meanwhile keeps its status: its credits and its note are settled already.
    moved = set_status(session, message, "failed", now, error_code=code)
    if moved:
        message.error_code, message.error = code, reason
    if moved and message.credits:
        credits.refund(ctx, session, must_get(session, Shop, message.shop_id), message, f"send failed ({code or 'error'})")
    if opted_out:
        opt_outs.do_opt_out(session, message.shop_id, message.to_number, now, opt_outs.CARRIER)
    if moved and message.ticket_id:
        ticket = must_get(session, Ticket, message.ticket_id)
        label = f"{code}: {reason}" if code else reason
        add_system_note(session, ticket, f"Text not sent: {label}.", now)


def fail_after_crash(ctx: Context, job_id: int, reason: str) -> None:
    """A job that kept crashing (not a provider answer): the message must not sit in 'sending' forever."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = must_get(session, Job, job_id, with_for_update=True)
        message = must_get(session, Message, job.message_id, with_for_update=True)
        if message.provider_id or message.status not in ("queued", "sending"):
            job.state, job.finished_at = "done", now
            return
        _fail(ctx, session, job, message, "internal", reason, now)

"""Texting a customer about a ticket: decide, debit and queue in the caller's transaction (the outbox).

The worker (services/sending.py) sends what is queued here; nothing here talks to a provider.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, Job, Message, Shop, Ticket
from repairtext.bootstrap import Context
from repairtext.domain import credits as credit_rules
from repairtext.domain.eligibility import Recipient, Refusal, check_can_text
from repairtext.domain.errors import InsufficientCredits
from repairtext.domain.phones import PhoneType
from repairtext.domain.segments import count_segments, smart_encode, split_for_provider
from repairtext.services import credits, opt_outs
from repairtext.services.comments import add_system_note
from repairtext.services.shops import quiet_hours_of

SEND_JOB = "send"


def recipient_of(session: Session, customer: Customer) -> Recipient:
    """The customer as the eligibility rule sees them, opt-out from the one reader (services/opt_outs.py)."""
    mobile = next((p.e164 for p in customer.phones if p.type == PhoneType.MOBILE.value), None)
    key = (customer.shop_id, mobile, customer.id)
    hit = opt_outs.opted_out(session, [key]).get(key)
    return Recipient(
        name=customer.name,
        sms_enabled=customer.sms_enabled,
        opted_out_at=hit.since if hit else None,
        opted_out_by_carrier=bool(hit and hit.source == opt_outs.CARRIER),
        mobile_numbers=tuple(p.e164 for p in customer.phones if p.type == PhoneType.MOBILE.value),
        other_phone_types=tuple(p.type for p in customer.phones if p.type != PhoneType.MOBILE.value),
    )


def sending_number(shop: Shop, provider: str | None = None, prefer: str | None = None) -> str | None:
    """The number a text of this shop goes from: always one of the shop's numbers on the provider that carries
    it (built-in Twilio: a number the operator put on the platform account; Flowroute: the shop's own). `prefer`
    (say, the number a customer texted) is used only if it is such a number, so no caller chooses the From."""
    own = [n.e164 for n in shop.numbers if n.provider == (provider or shop.provider)]
    if prefer in own:
        return prefer
    return own[0] if own else None


def provider_problem(ctx: Context, shop: Shop) -> str:
    if shop.provider == "flowroute":
        if not (shop.flowroute_access_key and shop.flowroute_secret_encrypted):
            return "the shop's Flowroute access key and secret are not set; add them under Settings"
        if sending_number(shop) is None:
            return "the shop has no Flowroute number to send from; add your Flowroute number under Settings"
        return ""
    if sending_number(shop) is None:
        return "the shop has no number on the built-in account; the operator assigns one"
    if not (ctx.settings.twilio_account_sid and ctx.settings.twilio_auth_token):
        return "the built-in Twilio account is not configured (REPAIRTEXT_TWILIO_ACCOUNT_SID / _AUTH_TOKEN)"
    return ""


def prepare_text(shop: Shop, text: str) -> str:
    return smart_encode(text) if shop.smart_encoding else text


def cost_of(shop: Shop, text: str) -> tuple[str, int, int]:
    """(encoding, segments, credits) of `text` as this shop would send it, across all provider messages."""
    parts = split_for_provider(prepare_text(shop, text))
    counts = [count_segments(p) for p in parts]
    encoding = "UCS-2" if any(c.encoding == "UCS-2" for c in counts) else "GSM-7"
    segments = sum(c.segments for c in counts)
    return encoding, segments, segments if shop.provider == "twilio" else 0


def status_callback_url(ctx: Context, shop: Shop, provider: str | None = None) -> str:
    if (provider or shop.provider) == "flowroute":
        return f"{ctx.settings.public_url}/webhooks/flowroute/{shop.flowroute_token}/status"
    return f"{ctx.settings.public_url}/webhooks/twilio/status"


def _record_refusal(session: Session, shop: Shop, ticket: Ticket | None, customer: Customer | None, to: str,
                    body: str, trigger: str, refusal: Refusal, now: datetime, comment_id: int | None = None) -> Message:
    message = Message(
        shop_id=shop.id, direction="outbound", ticket_id=ticket.id if ticket else None, comment_id=comment_id,
        customer_id=customer.id if customer else None, trigger=trigger, provider=shop.provider,
        from_number=sending_number(shop) or "", to_number=to, body=body, status="rejected",
        error_code=refusal.code, error=refusal.reason, created_at=now, updated_at=now,
    )
    session.add(message)
    if ticket is not None:
        add_system_note(session, ticket, f"Not texted: {refusal.reason}.", now)
    return message


def queue_text(ctx: Context, session: Session, shop: Shop, *, to: str, body: str, trigger: str,
               ticket: Ticket | None = None, customer: Customer | None = None, comment_id: int | None = None,
               automatic: bool = False, from_number: str | None = None) -> list[Message]:
    """Record, debit and queue `body` to `to`, split into provider messages. Raises InsufficientCredits."""
    now = ctx.clock.now()
    send_after = quiet_hours_of(shop).next_send_time(now, shop.time_zone) if automatic else now
    text = prepare_text(shop, body)
    parts = split_for_provider(text)
    batch = secrets.token_hex(8)
    messages = []
    for index, part in enumerate(parts, start=1):
        count = count_segments(part)
        messages.append(Message(
            shop_id=shop.id, direction="outbound", ticket_id=ticket.id if ticket else None,
            customer_id=customer.id if customer else None, comment_id=comment_id, trigger=trigger,
            provider=shop.provider, from_number=sending_number(shop, prefer=from_number), to_number=to, body=part,
            encoding=count.encoding, segments=count.segments,
            credits=count.segments if shop.provider == "twilio" else 0,
            status="queued", send_after=send_after, batch_id=batch, part=index, parts=len(parts),
            created_at=now, updated_at=now,
        ))
    needed = sum(m.credits for m in messages)
    balance = None
    if needed:
        # Check the whole batch first, under the balance lock, so the debit is all or nothing.
        balance = credits.current_balance(ctx, session, shop)
        credit_rules.plan_spend(needed, balance.monthly_remaining, balance.addon_remaining)
    session.add_all(messages)
    session.flush()
    for message in messages:
        if message.credits:
            credits.reserve_credits(ctx, session, shop, message.credits, message, balance)
        session.add(Job(shop_id=shop.id, kind=SEND_JOB, message_id=message.id, state="pending",
                        run_after=send_after, created_at=now))
    return messages


@dataclass(frozen=True)
class Texting:
    to: str  # the mobile number a text goes to ("" when there is none)
    refusal: Refusal | None  # None: the customer may be texted (credits are checked where they are debited)


def check_texting(ctx: Context, session: Session, shop: Shop, customer: Customer) -> Texting:
    """Whether `customer` may be texted now, and at which number: the one rule (domain/eligibility), asked the
    same way by every text queued and by every page that says so beforehand."""
    recipient = recipient_of(session, customer)
    problem = provider_problem(ctx, shop)
    return Texting(recipient.mobile_numbers[0] if recipient.mobile_numbers else "",
                   check_can_text(recipient, provider_ready=not problem, provider_problem=problem))


def do_text_customer_about_ticket(ctx: Context, session: Session, shop: Shop, ticket: Ticket, body: str,
                                  trigger: str, *, comment_id: int | None = None,
                                  automatic: bool = False) -> list[Message]:
    """The one path every ticket text takes: who may be texted is decided here, with a reason if not."""
    customer = ticket.customer
    now = ctx.clock.now()
    texting = check_texting(ctx, session, shop, customer)
    to, refusal = texting.to, texting.refusal
    if refusal is None:
        try:
            return queue_text(ctx, session, shop, to=to, body=body, trigger=trigger, ticket=ticket,
                              customer=customer, comment_id=comment_id, automatic=automatic)
        except InsufficientCredits as exc:
            refusal = Refusal("insufficient_credits", f"the text {exc}")
    return [_record_refusal(session, shop, ticket, customer, to, body, trigger, refusal, now, comment_id)]


def do_refuse_text_about_ticket(ctx: Context, session: Session, shop: Shop, ticket: Ticket, trigger: str,
                                refusal: Refusal) -> Message:
    """A text that cannot even be written (its template cannot render), recorded as every refusal is."""
    recipient = recipient_of(session, ticket.customer)
    to = recipient.mobile_numbers[0] if recipient.mobile_numbers else ""
    return _record_refusal(session, shop, ticket, ticket.customer, to, "", trigger, refusal, ctx.clock.now())


# Texts the customer may have received: a queued (e.g. held for quiet hours), rejected or failed one is not
# what they are answering.
REACHED_PROVIDER = ("accepted", "sent", "delivered", "undelivered")


def last_outbound_to(shop_id, e164):
    """The statement for the most recent text to `e164` that reached the provider (ticket, customer, time)."""
    return (select(Message.ticket_id, Message.customer_id, Message.created_at).where(
        Message.shop_id == shop_id, Message.direction == "outbound", Message.to_number == e164,
        Message.ticket_id.is_not(None), Message.status.in_(REACHED_PROVIDER),
    ).order_by(Message.created_at.desc(), Message.id.desc()).limit(1))

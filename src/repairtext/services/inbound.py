"""Receiving a customer's text: store it durably (deduplicated by the provider's id), apply keywords, and put
it on the right ticket or in the triage inbox, all in one transaction; media are fetched later by the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, CustomerPhone, Job, Message, Shop, ShopNumber, Ticket
from repairtext.bootstrap import Context
from repairtext.domain import routing, tickets as ticket_rules
from repairtext.domain.errors import InsufficientCredits, NotFound, ValidationFailed
from repairtext.domain.keywords import Keyword, classify
from repairtext.domain.phones import display, to_e164
from repairtext.services import opt_outs
from repairtext.services.comments import add_comment
from repairtext.services.outbound import last_outbound_to, provider_problem, queue_text

MEDIA_JOB = "inbound_media"


@dataclass(frozen=True)
class InboundText:
    provider: str
    provider_id: str
    from_number: str
    to_number: str
    body: str
    media: list[dict] = field(default_factory=list)   # [{"url", "content_type", "file_name"}]
    opt_out_type: str | None = None
    from_country: str | None = None


@dataclass(frozen=True)
class Received:
    message_id: int | None
    duplicate: bool
    shop_id: int | None


def _shop_for_number(session: Session, e164: str, provider: str) -> Shop | None:
    """Only numbers on that provider's account: a shop cannot receive the platform's texts by typing in a
    number that is not its own."""
    row = session.scalar(select(ShopNumber).where(ShopNumber.e164 == e164, ShopNumber.provider == provider))
    return session.get(Shop, row.shop_id) if row else None


def _e164_or_raw(raw: str, field: str) -> str:
    """E.164 whatever form the provider used. Flowroute writes numbers as digits without '+': 11 of them for
    North America, the whole international number otherwise. A sender that is no phone number (a short code,
    a name) is kept as sent, and each number is normalized on its own."""
    digits = raw.strip()
    candidates = [raw, "+" + digits] if digits.isdigit() else [raw]
    for candidate in candidates:
        try:
            return to_e164(candidate, "US", field)
        except ValidationFailed:
            continue
    return raw


def do_receive(ctx: Context, text: InboundText, shop_id: int | None = None) -> Received:
    """`shop_id` is given when the webhook URL itself names the shop (Flowroute's secret token)."""
    now = ctx.clock.now()
    try:
        with ctx.db.transaction() as session:
            result = _receive(ctx, session, text, shop_id, now)
    except IntegrityError:
        # A concurrent delivery of the same webhook won the insert: this one is the duplicate.
        return Received(None, True, shop_id)
    if result.message_id:
        ctx.notify_work()
    return result


def _receive(ctx: Context, session: Session, text: InboundText, shop_id: int | None, now: datetime) -> Received:
    existing = session.scalar(select(Message.id).where(Message.provider == text.provider,
                                                       Message.provider_id == text.provider_id))
    if existing:
        return Received(existing, True, shop_id)
    to, sender = _e164_or_raw(text.to_number, "To"), _e164_or_raw(text.from_number, "From")
    shop = session.get(Shop, shop_id) if shop_id else _shop_for_number(session, to, text.provider)
    if shop is None:
        raise NotFound(f"no shop owns the number {to}")
    message = Message(
        shop_id=shop.id, direction="inbound", provider=text.provider, provider_id=text.provider_id,
        from_number=sender, to_number=to, body=text.body or "", status="received",
        media=[dict(m, state="pending") for m in text.media] or None, created_at=now, updated_at=now,
    )
    session.add(message)
    session.flush()

    customers = list(session.scalars(
        select(Customer).join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(CustomerPhone.shop_id == shop.id, CustomerPhone.e164 == sender).distinct().order_by(Customer.id)
    ))
    keyword = classify(text.body, text.opt_out_type)
    was_opted_out = any(c.opted_out_at for c in customers) or bool(opt_outs.number_opted_out(session, shop.id, sender))
    if keyword is not None:
        _apply_keyword(ctx, session, shop, customers, sender, to, keyword,
                       twilio_handled=bool(text.opt_out_type), now=now)
    if keyword is Keyword.START and not was_opted_out:
        keyword = None  # "Yes" to "Can you pick it up today?" is an answer, not an opt-in

    route = _route(session, shop, message, customers, now)
    message.routing_rule, message.routing_reason = route.rule, route.reason
    message.customer_id = route.customer_id
    if route.to_inbox:
        message.inbox_state = "triage"
    else:
        message.inbox_state = "routed"
        place_on_ticket(session, session.get(Ticket, route.ticket_id), message, keyword, now)
    if text.media:
        session.add(Job(shop_id=shop.id, kind=MEDIA_JOB, message_id=message.id, state="pending", run_after=now,
                        max_attempts=3, created_at=now))
    return Received(message.id, False, shop.id)


def _route(session: Session, shop: Shop, message: Message, customers: list[Customer], now) -> routing.Route:
    ids = [c.id for c in customers]
    tickets = session.scalars(select(Ticket).where(Ticket.shop_id == shop.id, Ticket.customer_id.in_(ids))).all() if ids else []
    last = last_outbound_to(session, shop.id, message.from_number) if ids else None
    recent = None
    if last is not None and last.customer_id in ids:
        recent = routing.RecentOutbound(last.ticket_id, last.customer_id, last.created_at)
    refs = [routing.TicketRef(t.id, t.number, t.customer_id, ticket_rules.is_open(t.status)) for t in tickets]
    return routing.route_reply(message.body, ids, refs, recent, now)


def place_on_ticket(session: Session, ticket: Ticket, message: Message, keyword: Keyword | None, now) -> None:
    """A reply becomes the customer's public comment and sets the ticket to Customer Reply (reopening it).
    A keyword is kept as a hidden note instead: staff see it, the portal does not."""
    message.ticket_id, message.customer_id = ticket.id, ticket.customer_id
    if keyword is not None:
        note = {Keyword.STOP: "opted out of texts", Keyword.START: "opted back in to texts",
                Keyword.HELP: "asked for help"}[keyword]
        comment = add_comment(session, ticket, f"Customer texted {message.body.strip() or keyword.value}: {note}.",
                              author="customer", public=False, now=now)
    else:
        comment = add_comment(session, ticket, message.body, author="customer", public=True, now=now)
        ticket.status = ticket_rules.CUSTOMER_REPLY
    message.comment_id = comment.id


def _apply_keyword(ctx: Context, session: Session, shop: Shop, customers: list[Customer], sender: str,
                   shop_number: str, keyword: Keyword, twilio_handled: bool, now) -> None:
    if keyword is Keyword.STOP:
        opt_outs.record_opt_out(session, shop.id, sender, now)
        for customer in customers:
            customer.opted_out_at = customer.opted_out_at or now
    elif keyword is Keyword.START:
        opt_outs.clear_opt_out(session, shop.id, sender)
        for customer in customers:
            customer.opted_out_at = None
    elif (keyword is Keyword.HELP and not twilio_handled and not provider_problem(ctx, shop)
          and not _helped_recently(session, shop.id, sender, now)):
        # Twilio's advanced opt-out already answered HELP when it set OptOutType; never answer twice.
        phone = display(shop.numbers[0].e164) if shop.numbers else ""
        body = f"{shop.name}: for help with your repair call {phone}. Reply STOP to stop texts."
        try:
            queue_text(ctx, session, shop, to=sender, body=body, trigger="help_reply",
                       customer=customers[0] if customers else None, from_number=shop_number)
        except InsufficientCredits:
            pass  # out of credits: the customer's message still lands; the low-credit alert already told staff


HELP_ANSWER_EVERY = timedelta(hours=24)


def _helped_recently(session: Session, shop_id: int, sender: str, now) -> bool:
    """One HELP answer a day per number: each costs the shop credits, and anyone can text HELP."""
    return session.scalar(select(Message.id).where(
        Message.shop_id == shop_id, Message.direction == "outbound", Message.trigger == "help_reply",
        Message.to_number == sender, Message.created_at >= now - HELP_ANSWER_EVERY).limit(1)) is not None


def do_assign(ctx: Context, shop_id: int, message_id: int, ticket_id: int) -> Message:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        message = session.scalar(select(Message).where(Message.id == message_id, Message.shop_id == shop_id,
                                                       Message.direction == "inbound").with_for_update())
        if message is None or message.inbox_state != "triage":
            raise NotFound(f"no inbox message {message_id}")
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id, Ticket.shop_id == shop_id))
        if ticket is None:
            raise ValidationFailed.on("ticket_id", f"no ticket {ticket_id} in this shop")
        message.inbox_state = "assigned"
        message.routing_rule, message.routing_reason = "assigned", "placed by staff from the inbox"
        keyword = classify(message.body)
        # Opt-in was applied when the text arrived; placed now, a START-word is just the customer's answer.
        place_on_ticket(session, ticket, message, None if keyword is Keyword.START else keyword, now)
        from repairtext.services.inbound_media import attach_processed_media

        attach_processed_media(session, message, now)
    return message

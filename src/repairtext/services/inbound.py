"""Receiving a customer's text: store it durably (deduplicated by the provider's id), apply keywords, and put
it on the right ticket or in the triage inbox, all in one transaction; media are fetched later by the worker.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Comment, Customer, CustomerPhone, Job, Message, Shop, ShopNumber, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.adapters.providers.base import InboundText
from repairtext.bootstrap import Context
from repairtext.domain import routing
from repairtext.domain import tickets as ticket_rules
from repairtext.domain.errors import InsufficientCredits, NotFound, ValidationFailed
from repairtext.domain.keywords import Keyword, classify
from repairtext.domain.phones import display, readable, to_e164
from repairtext.domain.staff import Author
from repairtext.services import events, opt_outs
from repairtext.services.outbound import last_outbound_to, provider_problem, queue_text, sending_number

MEDIA_JOB = "inbound_media"

# The webhook's statements, built once: constructing SQL per request costs more than running it.
_SENDERS_TICKETS = (
    select(Customer.id, Ticket.id, Ticket.number, Ticket.status)
    .select_from(CustomerPhone).join(Customer, Customer.id == CustomerPhone.customer_id)
    .outerjoin(Ticket, (Ticket.customer_id == Customer.id) & (Ticket.shop_id == CustomerPhone.shop_id))
    .where(CustomerPhone.shop_id == bindparam("shop_id"), CustomerPhone.e164 == bindparam("sender"))
)
# The same, reached from the number texted (one round trip instead of two): no row at all means the number is
# not a number on that provider (of that shop, when the webhook names one), and nothing may be done.
_SHOP_SENDERS_TICKETS = (
    select(Customer.id, Ticket.id, Ticket.number, Ticket.status, ShopNumber.shop_id,
           Customer.name.label("customer_name"))
    .select_from(ShopNumber)
    .outerjoin(CustomerPhone, (CustomerPhone.shop_id == ShopNumber.shop_id) & (CustomerPhone.e164 == bindparam("sender")))
    .outerjoin(Customer, Customer.id == CustomerPhone.customer_id)
    .outerjoin(Ticket, (Ticket.customer_id == Customer.id) & (Ticket.shop_id == ShopNumber.shop_id))
    .where(ShopNumber.e164 == bindparam("e164"), ShopNumber.provider == bindparam("provider"))
)
_OWN_SENDERS_TICKETS = _SHOP_SENDERS_TICKETS.where(ShopNumber.shop_id == bindparam("shop_id"))
_LAST_OUTBOUND = last_outbound_to(bindparam("shop_id"), bindparam("to"))
_INSERT_MESSAGE = insert(Message).returning(Message.id)
_INSERT_COMMENT = insert(Comment).returning(Comment.id)
_TOUCH_TICKET = (update(Ticket).where(Ticket.id == bindparam("b_ticket"), Ticket.shop_id == bindparam("b_shop"))
                 .values(updated_at=bindparam("b_now"), last_activity_at=bindparam("b_now"),
                         status=func.coalesce(bindparam("b_status"), Ticket.status),
                         needs_reply=func.coalesce(bindparam("b_needs_reply"), Ticket.needs_reply)))


@dataclass(frozen=True)
class Received:
    message_id: int | None
    duplicate: bool
    shop_id: int | None
    queued_work: bool = False  # a job for the worker (media to fetch, a HELP answer): worth waking it


@lru_cache(maxsize=65_536)  # pure, and parsing is a good share of a webhook's time; senders repeat
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
    """`shop_id` is given when the webhook URL itself names the shop (Flowroute's secret token). Raises NotFound
    when the number texted is not one of the shop's (or, for Twilio, the platform's) numbers on that provider."""
    now = ctx.clock.now()
    try:
        with ctx.db.transaction() as session:
            result = _receive(ctx, session, text, shop_id, now)
    except IntegrityError:
        # A concurrent delivery of the same webhook won the insert: this one is the duplicate.
        return Received(None, True, shop_id)
    if result.queued_work:
        ctx.notify_work()
    return result


def _receive(ctx: Context, session: Session, text: InboundText, shop_id: int | None, now: datetime) -> Received:
    """The webhook's hot path, in plain SQL statements (it runs for every reply): find the shop, the sender's
    customers and tickets, and the last text sent to them; route; write the comment and the message.
    A duplicate delivery fails on the message's unique (provider, provider id) and rolls all of it back."""
    to, sender = _e164_or_raw(text.to_number, "To"), _e164_or_raw(text.from_number, "From")
    db = session.connection()
    params = {"e164": to, "provider": text.provider, "sender": sender}
    if shop_id is None:
        rows = db.execute(_SHOP_SENDERS_TICKETS, params).all()
    else:
        rows = db.execute(_OWN_SENDERS_TICKETS, dict(params, shop_id=shop_id)).all()
    if not rows:
        raise NotFound(f"{to} is not a {text.provider} number of " + (f"shop {shop_id}" if shop_id else "any shop"))
    shop_id = rows[0].shop_id
    customer_ids, tickets = _customers_and_tickets(rows)

    keyword = classify(text.body, text.opt_out_type)
    if keyword is not None:
        customers = list(session.scalars(select(Customer).where(Customer.id.in_(customer_ids)).order_by(Customer.id)))
        opted_in = _apply_keyword(ctx, session, must_get(session, Shop, shop_id), customers, sender, to, keyword,
                                  twilio_handled=bool(text.opt_out_type), now=now)
        if keyword is Keyword.START and not opted_in:
            keyword = None  # "Yes" to "Can you pick it up today?" is an answer, not an opt-in

    recent = last_outbound(session, shop_id, sender, customer_ids)
    route = routing.route_reply(text.body, customer_ids, tickets, recent, now)
    comment_id = None
    if route.ticket_id is not None:  # not to the inbox
        # Routing only places a text on a ticket of a customer with the sender's number: it is theirs.
        name = next((row.customer_name for row in rows if row[0] == route.customer_id), None)
        author = customer_author(sender, route.customer_id, name) if name else Author("customer", sender, number=sender)
        comment_id = place_reply(session, shop_id, route.ticket_id, text.body or "", keyword, now, author)
    message_id = db.execute(_INSERT_MESSAGE, dict(
        shop_id=shop_id, direction="inbound", provider=text.provider, provider_id=text.provider_id,
        from_number=sender, to_number=to, body=text.body or "", status="received",
        media=[dict(m, state="pending") for m in text.media] or None,
        ticket_id=route.ticket_id, customer_id=route.customer_id, comment_id=comment_id,
        inbox_state="triage" if route.to_inbox else "routed", routing_rule=route.rule, routing_reason=route.reason,
        created_at=now, updated_at=now,
    )).scalar_one()
    if text.media:
        db.execute(insert(Job), dict(shop_id=shop_id, kind=MEDIA_JOB, message_id=message_id, state="pending",
                                     run_after=now, max_attempts=3, created_at=now))
    events.record(session, shop_id, events.MESSAGE_RECEIVED, now, ticket_id=route.ticket_id, message_id=message_id,
                  comment_id=comment_id)
    return Received(message_id, False, shop_id, queued_work=bool(text.media) or keyword is Keyword.HELP)


def senders_tickets(session: Session, shop_id: int, sender: str) -> tuple[list[int], list[routing.TicketRef]]:
    """The shop's customers with this number and their tickets: one query."""
    return _customers_and_tickets(session.connection().execute(_SENDERS_TICKETS, {"shop_id": shop_id, "sender": sender}).all())


def _customers_and_tickets(rows) -> tuple[list[int], list[routing.TicketRef]]:
    """Rows of (customer id, ticket id, number, status, …); a row without a customer is the shop's number alone
    (no customer has the sender's number)."""
    tickets = {row[1]: routing.TicketRef(row[1], row[2], row[0], ticket_rules.is_open(row[3])) for row in rows if row[1]}
    return sorted({row[0] for row in rows if row[0]}), list(tickets.values())


def last_outbound(session: Session, shop_id: int, sender: str, customer_ids: list[int]) -> routing.RecentOutbound | None:
    if not customer_ids:
        return None
    row = session.connection().execute(_LAST_OUTBOUND, {"shop_id": shop_id, "to": sender}).first()
    if row is None or row.customer_id not in customer_ids:
        return None
    return routing.RecentOutbound(row.ticket_id, row.customer_id, row.created_at)


NAME_MAX, NUMBER_MAX = 200, 20  # comments.author_name, comments.author_number
KEYWORD_NOTES = {Keyword.STOP: "opted out of texts", Keyword.START: "opted back in to texts",
                 Keyword.HELP: "asked for help"}


def customer_author(sender: str, customer_id: int | None, name: str) -> Author:
    return Author("customer", name, customer_id=customer_id, number=sender)


def text_author(session: Session, ticket: Ticket, sender: str, region: str) -> Author:
    """Who `sender`'s text on `ticket` is shown as written by: the ticket's customer only if the number is one of
    theirs; otherwise nobody but the number (no customer id, the number as a person writes it for the name)."""
    theirs = session.scalar(select(Customer.name).join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                            .where(Customer.id == ticket.customer_id, CustomerPhone.shop_id == ticket.shop_id,
                                   CustomerPhone.e164 == sender).limit(1))
    if theirs is not None:
        return customer_author(sender, ticket.customer_id, theirs)
    return Author("customer", readable(sender, region), number=sender)


def place_reply(session: Session, shop_id: int, ticket_id: int, body: str, keyword: Keyword | None, now,
                author: Author) -> int:
    """A reply becomes the customer's public comment and sets the ticket to Customer Reply (reopening it).
    A keyword is kept as a hidden note instead: staff see it, the portal does not. Returns the comment's id."""
    if keyword is not None:
        comment_body, public = f"Customer texted {body.strip() or keyword.value}: {KEYWORD_NOTES[keyword]}.", False
    else:
        comment_body, public = body, True
    db = session.connection()
    comment_id = db.execute(_INSERT_COMMENT, dict(
        shop_id=shop_id, ticket_id=ticket_id, body=comment_body, public=public, author="customer", created_at=now,
        author_name=author.name[:NAME_MAX], author_customer_id=author.customer_id,
        author_number=(author.number or "")[:NUMBER_MAX] or None,
    )).scalar_one()
    status = ticket_rules.CUSTOMER_REPLY if keyword is None else None
    db.execute(_TOUCH_TICKET, {"b_ticket": ticket_id, "b_shop": shop_id, "b_now": now, "b_status": status,
                               "b_needs_reply": ticket_rules.needs_reply_after("customer", public)})
    return comment_id


def _apply_keyword(ctx: Context, session: Session, shop: Shop, customers: list[Customer], sender: str,
                   shop_number: str, keyword: Keyword, twilio_handled: bool, now) -> bool:
    """Returns whether the sender opted back in (START from a number that had opted out)."""
    if keyword is Keyword.STOP:
        opt_outs.do_opt_out(session, shop.id, sender, now, opt_outs.KEYWORD)
    elif keyword is Keyword.START:
        return opt_outs.do_opt_in(session, shop.id, sender)
    elif (keyword is Keyword.HELP and not twilio_handled and not provider_problem(ctx, shop)
          and not _helped_recently(session, shop.id, sender, now)
          and (reply_from := sending_number(shop, prefer=shop_number)) is not None):  # provider_problem checked it
        # Twilio's advanced opt-out already answered HELP when it set OptOutType; never answer twice.
        body = f"{shop.name}: for help with your repair call {display(reply_from)}. Reply STOP to stop texts."
        # Out of credits: the customer's message still lands; the low-credit alert already told staff.
        with contextlib.suppress(InsufficientCredits):
            queue_text(ctx, session, shop, to=sender, body=body, trigger="help_reply",
                       customer=customers[0] if customers else None, from_number=reply_from)
    return False


HELP_ANSWER_EVERY = timedelta(hours=24)


def _helped_recently(session: Session, shop_id: int, sender: str, now) -> bool:
    """One HELP answer a day per number: each costs the shop credits, and anyone can text HELP."""
    return session.scalar(select(Message.id).where(
        Message.shop_id == shop_id, Message.direction == "outbound", Message.trigger == "help_reply",
        Message.to_number == sender, Message.created_at >= now - HELP_ANSWER_EVERY).limit(1)) is not None

"""The triage inbox: texts no routing rule could place, and what staff decide for each. A text is placed on a
ticket (and, only when staff say so, its number becomes the ticket's customer's mobile phone), or dismissed with
a reason: kept, out of the inbox, findable among the dismissed.

Each decision locks the text's row and happens once: a second assign or dismiss of the same text (a double
submit, a colleague at the same moment) finds it no longer in the inbox and raises NotFound, changing nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Customer, CustomerPhone, Message, Shop, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.keywords import Keyword, classify
from repairtext.domain.phones import PhoneType, readable, to_e164
from repairtext.services import events
from repairtext.services.comments import add_system_note
from repairtext.services.customers import MAX_PHONES
from repairtext.services.inbound import place_reply, text_author
from repairtext.services.inbound_media import attach_processed_media

TRIAGE, ASSIGNED, DISMISSED = "triage", "assigned", "dismissed"
STATES = (TRIAGE, DISMISSED)
REASON_MAX = 500
BY_MAX = 120  # messages.dismissed_by
DISMISSED_LISTED = 200  # the newest dismissed texts a page or a call shows; older ones stay in GET /messages
# Media a person may look at: fetched and stored (still in the inbox), or since attached to a ticket.
VIEWABLE_MEDIA = ("stored", "attached")


def _locked_inbox_text(session: Session, shop_id: int, message_id: int) -> Message:
    message = session.scalar(select(Message).where(Message.id == message_id, Message.shop_id == shop_id,
                                                   Message.direction == "inbound").with_for_update())
    if message is None or message.inbox_state not in (TRIAGE, ASSIGNED, DISMISSED):
        raise NotFound(f"no inbox text {message_id}")
    if message.inbox_state == ASSIGNED:
        raise NotFound(f"text {message_id} is no longer in the inbox: it was placed on a ticket")
    if message.inbox_state == DISMISSED:
        raise NotFound(f"text {message_id} is no longer in the inbox: {message.dismissed_by} dismissed it")
    return message


def do_assign(ctx: Context, shop_id: int, message_id: int, ticket_id: int, *, link_customer: bool = False,
              by: str = "Staff") -> Message:
    """Place an inbox text on a ticket. The comment is the ticket's customer's only when the number is one of
    theirs (already, or because `link_customer` makes it so); otherwise it shows the sender's number. Linking is
    refused (ValidationFailed on link_customer) when another customer of the shop has the number."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        message = _locked_inbox_text(session, shop_id, message_id)
        ticket = session.scalar(select(Ticket).options(selectinload(Ticket.customer))
                                .where(Ticket.id == ticket_id, Ticket.shop_id == shop_id))
        if ticket is None:
            raise ValidationFailed.on("ticket_id", f"no ticket {ticket_id} in this shop")
        shop = must_get(session, Shop, shop_id)
        linked = link_customer and _link_number(session, shop, ticket.customer, message.from_number)
        message.inbox_state = ASSIGNED
        message.routing_rule, message.routing_reason = "assigned", "placed by staff from the inbox"
        message.updated_at = now
        keyword = classify(message.body)
        # Opt-in was applied when the text arrived; placed now, a START-word is just the customer's answer.
        message.comment_id = place_reply(session, shop_id, ticket.id, message.body,
                                         None if keyword is Keyword.START else keyword, now,
                                         text_author(session, ticket, message.from_number, shop.country))
        message.ticket_id, message.customer_id = ticket.id, ticket.customer_id
        events.record(session, shop_id, events.COMMENT_CREATED, now, ticket_id=ticket.id, message_id=message.id,
                      comment_id=message.comment_id)
        attach_processed_media(session, message, now)
        if linked:
            add_system_note(session, ticket, f"{by} added {readable(message.from_number, shop.country)} to "
                            f"{ticket.customer.name} as a mobile phone, placing their text from the inbox.", now)
    return message


def _link_number(session: Session, shop: Shop, customer: Customer, sender: str) -> bool:
    """Make `sender` one of `customer`'s mobile phones; False when it already is."""
    try:
        number = to_e164(sender, shop.country, "link_customer")
    except ValidationFailed:
        raise ValidationFailed.on("link_customer", f"{sender} is not a phone number a customer can have; place "
                                  "the text without linking it") from None
    # Locked: two colleagues linking one number to two customers at the same moment must not both succeed.
    session.scalar(select(Shop.id).where(Shop.id == shop.id).with_for_update())
    owners = session.execute(select(Customer.id, Customer.name).join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                             .where(CustomerPhone.shop_id == shop.id, CustomerPhone.e164 == number)
                             .order_by(Customer.id)).all()
    if any(owner.id == customer.id for owner in owners):
        return False
    shown = readable(number, shop.country)
    if owners:
        raise ValidationFailed.on("link_customer", f"{shown} is already {owners[0].name}'s number; place the text "
                                  f"without adding the number to {customer.name}")
    phones = session.scalar(select(func.count()).select_from(CustomerPhone)
                            .where(CustomerPhone.customer_id == customer.id)) or 0
    if phones >= MAX_PHONES:
        raise ValidationFailed.on("link_customer", f"{customer.name} already has {MAX_PHONES} phones; remove one "
                                  f"before adding {shown}")
    session.add(CustomerPhone(shop_id=shop.id, customer_id=customer.id, e164=number, type=PhoneType.MOBILE.value))
    session.flush()
    return True


def check_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed.on("reason", "say why the text is dismissed (for example: spam, wrong number)")
    if len(reason) > REASON_MAX:
        raise ValidationFailed.on("reason", f"at most {REASON_MAX} characters")
    if "\x00" in reason:
        raise ValidationFailed.on("reason", "may not contain a NUL character")
    return reason


def do_dismiss(ctx: Context, shop_id: int, message_id: int, reason: str, by: str) -> Message:
    """Take a text out of the inbox for good, keeping it and why (`by`: the staff member's or API key's name)."""
    reason = check_reason(reason)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        message = _locked_inbox_text(session, shop_id, message_id)
        message.inbox_state = DISMISSED
        message.dismissed_reason, message.dismissed_by, message.dismissed_at = reason, by[:BY_MAX], now
        message.updated_at = now
    return message


def inbox_texts(session: Session, shop_id: int, state: str = TRIAGE) -> list[Message]:
    """The inbox, oldest first (the next to sort on top); or the newest dismissed texts first."""
    query = select(Message).where(Message.shop_id == shop_id, Message.inbox_state == state)
    if state == DISMISSED:
        return list(session.scalars(query.order_by(Message.dismissed_at.desc(), Message.id.desc())
                                    .limit(DISMISSED_LISTED)))
    return list(session.scalars(query.order_by(Message.id)))


def count(session: Session, shop_id: int, state: str = TRIAGE) -> int:
    return session.scalar(select(func.count()).select_from(Message)
                          .where(Message.shop_id == shop_id, Message.inbox_state == state)) or 0


def known_numbers(session: Session, shop_id: int, numbers: set[str]) -> set[str]:
    """Which of `numbers` some customer of the shop already has."""
    if not numbers:
        return set()
    return set(session.scalars(select(CustomerPhone.e164).where(CustomerPhone.shop_id == shop_id,
                                                                CustomerPhone.e164.in_(numbers))))


def stored_media(session: Session, shop_id: int, message_id: int, index: int) -> dict | None:
    """One stored picture of one of the shop's received texts (its blob keys and types), for staff to look at
    before the text is on a ticket; None when there is none such."""
    media = session.scalar(select(Message.media).where(Message.id == message_id, Message.shop_id == shop_id,
                                                       Message.direction == "inbound"))
    if not media or not 0 <= index < len(media):
        return None
    item = media[index]
    return item if item.get("state") in VIEWABLE_MEDIA and item.get("blob_key") else None

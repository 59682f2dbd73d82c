"""Read-side lookups the pages need and the services do not offer. Every query filters on the shop (or, for the
portal, on the ticket's secret token), so nothing of another shop can show up on a page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Attachment, Comment, Customer, Message, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.services import desk, inbox

CUSTOMER_CHOICES = 100


def recent_tickets(session: Session, shop_id: int, limit: int = 200) -> list[Ticket]:
    """The most recently active tickets (choices for a preview or for placing an inbox text)."""
    return desk.list_tickets(session, shop_id, desk.TicketFilter(), limit=limit).items


def customer_choices(session: Session, shop_id: int, chosen: int | None = None) -> list[Customer]:
    """The new-ticket form's choices: the newest customers, plus the one asked for (from a customer's page or a
    search); a shop with 50,000 customers searches for the rest instead of scrolling a list."""
    newest = list(session.scalars(select(Customer).options(selectinload(Customer.phones))
                                  .where(Customer.shop_id == shop_id).order_by(Customer.id.desc()).limit(CUSTOMER_CHOICES)))
    if chosen and all(c.id != chosen for c in newest):
        extra = session.scalar(select(Customer).options(selectinload(Customer.phones))
                               .where(Customer.shop_id == shop_id, Customer.id == chosen))
        newest += [extra] if extra else []
    return sorted(newest, key=lambda c: (c.name.lower(), c.id))


def ticket_messages(session: Session, shop_id: int, ticket_id: int) -> list[Message]:
    return list(session.scalars(select(Message).options(selectinload(Message.events))
                                .where(Message.shop_id == shop_id, Message.ticket_id == ticket_id)
                                .order_by(Message.id)))


def texts_of_comment(session: Session, shop_id: int, comment_id: int) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.shop_id == shop_id, Message.comment_id == comment_id,
                                                      Message.direction == "outbound").order_by(Message.id)))


def inbox_count(session: Session, shop_id: int) -> int:
    return inbox.count(session, shop_id)


def ticket_customer_name(session: Session, shop_id: int, ticket_id: int) -> str | None:
    return session.scalar(select(Customer.name).join(Ticket, Ticket.customer_id == Customer.id)
                          .where(Ticket.id == ticket_id, Ticket.shop_id == shop_id))


def move_choices(session: Session, shop_id: int, ticket: Ticket) -> list[dict]:
    """Where a customer's text on `ticket` may be moved: the customer's other tickets first, then the shop's
    most recently active ones."""
    theirs = desk.list_tickets(session, shop_id, desk.TicketFilter(customer_id=ticket.customer_id), limit=50).items
    recent = recent_tickets(session, shop_id)
    return [{"id": t.id, "number": t.number, "subject": t.subject, "status": t.status, "customer": t.customer.name,
             "theirs": t.customer_id == ticket.customer_id}
            for t in {t.id: t for t in [*theirs, *recent]}.values() if t.id != ticket.id]


def staff_attachment(session: Session, shop_id: int, attachment_id: int) -> Attachment | None:
    return session.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.shop_id == shop_id))


def ticket_for_portal(session: Session, token: str) -> Ticket | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Ticket).options(selectinload(Ticket.customer)).where(Ticket.portal_token == token))


def portal_attachment(session: Session, ticket: Ticket, attachment_id: int) -> Attachment | None:
    """Only what the portal page itself shows: a public attachment of this ticket on a public comment."""
    attachment = session.scalar(select(Attachment).where(
        Attachment.id == attachment_id, Attachment.ticket_id == ticket.id, Attachment.shop_id == ticket.shop_id,
        Attachment.public.is_(True)))
    if attachment is None:
        return None
    if attachment.comment_id is not None and not must_get(session, Comment, attachment.comment_id).public:
        return None
    return attachment


def refusal_since(session: Session, shop_id: int, ticket_id: int, since) -> Message | None:
    """The text refused on this ticket at or after `since` (a refused text is not linked to its comment)."""
    return session.scalar(select(Message).where(
        Message.shop_id == shop_id, Message.ticket_id == ticket_id, Message.direction == "outbound",
        Message.status == "rejected", Message.created_at >= since).order_by(Message.id.desc()).limit(1))


def customer_count(session: Session, shop_id: int, up_to: int = desk.COUNT_UP_TO) -> int:
    """How many customers the shop has, counted up to `up_to` + 1 (the list says "1,000+" past it)."""
    ids = select(Customer.id).where(Customer.shop_id == shop_id).limit(up_to + 1).subquery()
    return session.scalar(select(func.count()).select_from(ids)) or 0


def ticket_summaries(session: Session, shop_id: int, customer_ids: list[int]) -> dict[int, tuple[int, datetime]]:
    """customer id -> (how many tickets, when the latest was last active), for one page of customers."""
    if not customer_ids:
        return {}
    rows = session.execute(select(Ticket.customer_id, func.count(), func.max(Ticket.last_activity_at))
                           .where(Ticket.shop_id == shop_id, Ticket.customer_id.in_(customer_ids))
                           .group_by(Ticket.customer_id))
    return {customer_id: (count, latest) for customer_id, count, latest in rows}


def customer_texts(session: Session, shop_id: int, customer_id: int, numbers: list[str],
                   limit: int = 20) -> list[Message]:
    """The customer's latest texts, both ways, newest first: those on their tickets that were theirs, and every
    text sent to one of their numbers (also about a ticket since moved to someone else). Two indexed look-ups
    (ix_messages_shop_ticket, ix_messages_shop_to_created), each bounded."""
    theirs = select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.customer_id == customer_id)
    on_tickets = (select(Message.id).where(Message.shop_id == shop_id, Message.ticket_id.in_(theirs),
                                           Message.customer_id == customer_id)
                  .order_by(Message.id.desc()).limit(limit))
    ids = set(session.scalars(on_tickets))
    if numbers:
        ids |= set(session.scalars(select(Message.id).where(
            Message.shop_id == shop_id, Message.direction == "outbound", Message.to_number.in_(numbers))
            .order_by(Message.created_at.desc()).limit(limit)))
    if not ids:
        return []
    return list(session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id.desc()).limit(limit)))


def inbox_text(session: Session, shop_id: int, message_id: int) -> Message | None:
    """A text still waiting in the inbox (for the customer form started from it)."""
    return session.scalar(select(Message).where(Message.id == message_id, Message.shop_id == shop_id,
                                                Message.direction == "inbound", Message.inbox_state == "triage"))

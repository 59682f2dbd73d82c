"""Comments on a ticket. System notes are hidden: they tell staff what happened, not the customer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Comment, Ticket
from repairtext.domain.staff import SYSTEM, Author
from repairtext.domain.tickets import needs_reply_after
from repairtext.services import events


def add_comment(session: Session, ticket: Ticket, body: str, *, author: Author, public: bool, now,
                sms_body: str | None = None) -> Comment:
    comment = Comment(shop_id=ticket.shop_id, ticket_id=ticket.id, body=body, sms_body=sms_body,
                      public=public, author=author.kind, author_name=author.name, author_staff_id=author.staff_id,
                      author_customer_id=author.customer_id, author_number=author.number, created_at=now)
    session.add(comment)
    ticket.updated_at = now
    if author.kind != "system":
        ticket.last_activity_at = now
    needs_reply = needs_reply_after(author.kind, public or bool(sms_body))
    if needs_reply is not None:
        ticket.needs_reply = needs_reply
    session.flush()
    events.record(session, ticket.shop_id, events.COMMENT_CREATED, now, ticket_id=ticket.id, comment_id=comment.id)
    return comment


def add_system_note(session: Session, ticket: Ticket, text: str, now) -> Comment:
    return add_comment(session, ticket, text, author=SYSTEM, public=False, now=now)

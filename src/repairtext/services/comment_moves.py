"""Moving a customer's text to the ticket it belongs to, when it landed on (or was placed on) the wrong one.

The comment, its attachments and the text it came from move together. Its author is decided again for the new
ticket (the customer's only if the number is one of theirs), so each portal says "You" only for its own
customer's texts. Both tickets' needs-reply flag and last activity are worked out again from what they now hold,
and each gets a hidden note saying who moved what. Only a customer's text moves: staff comments and system notes
belong where they were written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Attachment, Comment, Message, Shop, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain import tickets as rules
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.services import events
from repairtext.services.comments import add_system_note
from repairtext.services.inbound import text_author

EXCERPT = 60


@dataclass(frozen=True)
class Moved:
    comment_id: int
    from_ticket_id: int
    ticket_id: int


def do_move_comment(ctx: Context, shop_id: int, comment_id: int, ticket_id: int, by: str, *,
                    from_ticket_id: int | None = None) -> Moved:
    """Raises NotFound for a comment of another shop (or, given `from_ticket_id`, one no longer on that ticket:
    a repeated request), ValidationFailed (ticket_id) for a ticket that is not the shop's or is the comment's
    own, and (comment_id) for a comment that is not a customer's text."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        comment = session.scalar(select(Comment).where(Comment.id == comment_id, Comment.shop_id == shop_id)
                                 .with_for_update())
        if comment is None:
            raise NotFound(f"no comment {comment_id}")
        if from_ticket_id is not None and comment.ticket_id != from_ticket_id:
            raise NotFound(f"comment {comment_id} is no longer on ticket {from_ticket_id}")
        texts = list(session.scalars(select(Message).where(
            Message.shop_id == shop_id, Message.comment_id == comment.id, Message.direction == "inbound")
            .order_by(Message.id).with_for_update()))
        if comment.author != "customer" or not texts:
            raise ValidationFailed.on("comment_id", "only a customer's text can be moved to another ticket")
        if ticket_id == comment.ticket_id:
            raise ValidationFailed.on("ticket_id", "the text is already on this ticket")
        # Both tickets locked, in id order, so two moves between the same tickets at once cannot deadlock.
        locked = {t.id: t for t in session.scalars(
            select(Ticket).options(selectinload(Ticket.customer))
            .where(Ticket.shop_id == shop_id, Ticket.id.in_(sorted((comment.ticket_id, ticket_id))))
            .order_by(Ticket.id).with_for_update())}
        if ticket_id not in locked:
            raise ValidationFailed.on("ticket_id", f"no ticket {ticket_id} in this shop")
        old, new = locked[comment.ticket_id], locked[ticket_id]
        shop = must_get(session, Shop, shop_id)

        comment.ticket_id = new.id
        author = text_author(session, new, texts[0].from_number, shop.country)
        comment.author_customer_id, comment.author_name = author.customer_id, author.name
        session.execute(update(Attachment).where(Attachment.shop_id == shop_id, Attachment.comment_id == comment.id)
                        .values(ticket_id=new.id))
        for text in texts:  # pictures still being fetched follow the text (inbound_media attaches by its ticket)
            text.ticket_id, text.customer_id, text.updated_at = new.id, new.customer_id, now
        session.flush()

        _after_leaving(session, old, comment, now)
        _after_arriving(session, new, comment, now)
        what = f"a text from {author.name}" + (f": “{_excerpt(comment.body)}”" if comment.body.strip() else "")
        add_system_note(session, old, f"{by} moved {what} to ticket #{new.number}.", now)
        add_system_note(session, new, f"{by} moved {what} here from ticket #{old.number}.", now)
        events.record(session, shop_id, events.COMMENT_CREATED, now, ticket_id=new.id, comment_id=comment.id,
                      message_id=texts[0].id)
        for ticket in (old, new):
            events.record(session, shop_id, events.TICKET_UPDATED, now, ticket_id=ticket.id)
        return Moved(comment.id, old.id, new.id)


def _excerpt(body: str) -> str:
    body = " ".join(body.split())
    return body if len(body) <= EXCERPT else body[:EXCERPT - 1] + "…"


def _needs_reply(session: Session, ticket: Ticket) -> bool:
    rows = session.execute(select(Comment.author, Comment.public, Comment.sms_body)
                           .where(Comment.shop_id == ticket.shop_id, Comment.ticket_id == ticket.id)
                           .order_by(Comment.created_at, Comment.id)).all()
    return rules.needs_reply_of((r.author, r.public or bool(r.sms_body)) for r in rows)


def _after_leaving(session: Session, ticket: Ticket, moved: Comment, now) -> None:
    """The ticket the text left. If the text was its latest activity, its last activity is the latest of what
    remains: its opening, its comments (not system notes) and its texts. (A status change leaves no record but
    the ticket's own timestamp, so one between the remaining activity and the moved text is not recovered.)"""
    ticket.needs_reply = _needs_reply(session, ticket)
    if ticket.last_activity_at <= moved.created_at:
        latest_comment = session.scalar(select(func.max(Comment.created_at)).where(
            Comment.shop_id == ticket.shop_id, Comment.ticket_id == ticket.id, Comment.author != "system"))
        latest_text = session.scalar(select(func.max(Message.created_at)).where(
            Message.shop_id == ticket.shop_id, Message.ticket_id == ticket.id))
        ticket.last_activity_at = max(t for t in (ticket.created_at, latest_comment, latest_text) if t is not None)
    ticket.updated_at = now


def _after_arriving(session: Session, ticket: Ticket, moved: Comment, now) -> None:
    """The ticket the text joined: as if it had landed there. When it is now the customer's latest word and
    unanswered, the ticket needs a reply and turns Customer Reply (reopening it), as the text would have."""
    ticket.needs_reply = _needs_reply(session, ticket)
    ticket.last_activity_at = max(ticket.last_activity_at, moved.created_at)
    if ticket.needs_reply and moved.public and _newest_that_counts(session, ticket) == moved.id:
        ticket.status = rules.CUSTOMER_REPLY
    ticket.updated_at = now


def _newest_that_counts(session: Session, ticket: Ticket) -> int | None:
    """The newest comment that decides needs-reply (not a system note, not a hidden note)."""
    return session.scalar(select(Comment.id).where(
        Comment.shop_id == ticket.shop_id, Comment.ticket_id == ticket.id, Comment.author != "system",
        Comment.public.is_(True) | Comment.sms_body.is_not(None))
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(1))

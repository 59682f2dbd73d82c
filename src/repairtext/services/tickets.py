"""Tickets: opening one (the Initial Problem text), editing it (subject, problem, customer) and changing its
status (status templates), commenting (a comment's SMS text is apart from its body)."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Comment, Customer, Shop, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain import tickets as rules
from repairtext.domain.eligibility import Refusal
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.staff import Author
from repairtext.services import events, templates
from repairtext.services.comments import add_comment, add_system_note
from repairtext.services.customers import check_text, get_customer
from repairtext.services.outbound import do_refuse_text_about_ticket, do_text_customer_about_ticket
from repairtext.services.shops import status_names


def get_ticket(session: Session, shop_id: int, ticket_id: int) -> Ticket:
    ticket = session.scalar(select(Ticket).options(selectinload(Ticket.customer).selectinload(Customer.phones))
                            .where(Ticket.id == ticket_id, Ticket.shop_id == shop_id))
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


def _next_number(session: Session, shop_id: int) -> int:
    # An atomic increment: two tickets opened at once never share a number.
    session.execute(update(Shop).where(Shop.id == shop_id).values(next_ticket_number=Shop.next_ticket_number + 1))
    return session.execute(select(Shop.next_ticket_number).where(Shop.id == shop_id)).scalar_one() - 1


def _send_template(ctx: Context, session: Session, shop: Shop, ticket: Ticket, trigger: str) -> None:
    source = templates.template_for(session, shop.id, trigger)
    if source is None:
        return
    try:
        text = templates.render(source, templates.template_variables(shop, ticket, ctx.settings.public_url))
    except ValidationFailed as exc:
        # A template saved before a check it now fails (or one this ticket's values break): refuse only this text.
        reason = f"the {trigger} template cannot be used: {'; '.join(e.message for e in exc.errors)}"
        do_refuse_text_about_ticket(ctx, session, shop, ticket, trigger, Refusal("template_failed", reason))
        return
    if text:
        do_text_customer_about_ticket(ctx, session, shop, ticket, text, trigger, automatic=True)


def do_open_ticket(ctx: Context, shop_id: int, *, customer_id: int, subject: str, problem: str) -> Ticket:
    with ctx.db.transaction() as session:
        ticket = open_ticket(ctx, session, shop_id, customer_id=customer_id, subject=subject, problem=problem)
    ctx.notify_work()
    return ticket


def open_ticket(ctx: Context, session: Session, shop_id: int, *, customer_id: int, subject: str,
                problem: str) -> Ticket:
    """Inside the caller's transaction (do_open_ticket's, or an idempotent request's)."""
    now = ctx.clock.now()
    subject = check_text("subject", subject)
    try:
        customer = get_customer(session, shop_id, customer_id)
    except NotFound:
        raise ValidationFailed.on("customer_id", f"no customer {customer_id} in this shop") from None
    shop = must_get(session, Shop, shop_id)
    ticket = Ticket(shop_id=shop_id, customer_id=customer.id, number=_next_number(session, shop_id),
                    subject=subject, problem=problem or "", status=rules.NEW,
                    portal_token=secrets.token_urlsafe(rules.PORTAL_TOKEN_BYTES), created_at=now, updated_at=now, last_activity_at=now)
    ticket.customer = customer
    session.add(ticket)
    session.flush()
    _send_template(ctx, session, shop, ticket, templates.INITIAL_PROBLEM)
    return ticket


def do_change_status(ctx: Context, shop_id: int, ticket_id: int, status: str) -> Ticket:
    return do_update_ticket(ctx, shop_id, ticket_id, {"status": status})


def change_status(ctx: Context, session: Session, shop_id: int, ticket_id: int, status: str) -> Ticket:
    """Inside the caller's transaction."""
    return update_ticket(ctx, session, shop_id, ticket_id, {"status": status})


def do_update_ticket(ctx: Context, shop_id: int, ticket_id: int, changes: dict, by: Author | None = None) -> Ticket:
    with ctx.db.transaction() as session:
        ticket = update_ticket(ctx, session, shop_id, ticket_id, changes, by)
    ctx.notify_work()
    return ticket


def update_ticket(ctx: Context, session: Session, shop_id: int, ticket_id: int, changes: dict,
                  by: Author | None = None) -> Ticket:
    """Inside the caller's transaction: any of `subject`, `problem`, `customer_id` (a customer of the same shop)
    and `status` (which sends its template). Everything is checked before anything changes; one ticket.updated
    event for the lot. Editing is not activity: only a new status moves the ticket up the desk. A move to
    another customer leaves a hidden note saying from whom, to whom and, given `by`, who moved it."""
    ticket = get_ticket(session, shop_id, ticket_id)
    subject = check_text("subject", changes["subject"]) if "subject" in changes else ticket.subject
    problem = (changes.get("problem") or "") if "problem" in changes else ticket.problem
    customer = ticket.customer
    if "customer_id" in changes and changes["customer_id"] != ticket.customer_id:
        try:
            customer = get_customer(session, shop_id, changes["customer_id"])
        except NotFound:
            raise ValidationFailed.on("customer_id", f"no customer {changes['customer_id']} in this shop") from None
    status = changes.get("status") or ticket.status
    if status != ticket.status:
        names = status_names(session, shop_id)
        if status not in names:
            raise ValidationFailed.on("status", f"unknown status {status!r}; use one of: {', '.join(names)}")
    now = ctx.clock.now()
    edited = (subject, problem, customer.id) != (ticket.subject, ticket.problem, ticket.customer_id)
    if customer.id != ticket.customer_id:
        mover = f" by {by.name}" if by else ""
        add_system_note(session, ticket, f"Moved from {ticket.customer.name} to {customer.name}{mover}.", now)
        ticket.customer_id, ticket.customer = customer.id, customer
    ticket.subject, ticket.problem = subject, problem
    moved = status != ticket.status
    if moved:
        ticket.status, ticket.last_activity_at = status, now
    if not (edited or moved):
        return ticket
    ticket.updated_at = now
    session.flush()
    events.record(session, shop_id, events.TICKET_UPDATED, now, ticket_id=ticket.id)
    if moved:
        # After the edits: the template speaks of the ticket as it now is, to the customer it now belongs to.
        _send_template(ctx, session, must_get(session, Shop, shop_id), ticket, templates.STATUS_PREFIX + status)
    return ticket


def do_comment(ctx: Context, shop_id: int, ticket_id: int, *, body: str, sms_body: str | None,
               hidden: bool, author: Author) -> Comment:
    with ctx.db.transaction() as session:
        comment = comment_on(ctx, session, shop_id, ticket_id, body=body, sms_body=sms_body, hidden=hidden,
                             author=author)
    ctx.notify_work()
    return comment


def comment_on(ctx: Context, session: Session, shop_id: int, ticket_id: int, *, body: str, sms_body: str | None,
               hidden: bool, author: Author) -> Comment:
    """Inside the caller's transaction. Texts a person typed go at once (no quiet hours): they are answers,
    not automatic notices."""
    now = ctx.clock.now()
    sms_body = (sms_body or "").strip() or None
    if not (body or "").strip() and not sms_body:
        raise ValidationFailed.on("body", "write a comment, an SMS text, or both")
    ticket = get_ticket(session, shop_id, ticket_id)
    comment = add_comment(session, ticket, body or "", author=author, public=not hidden, now=now,
                          sms_body=sms_body)
    if sms_body:
        do_text_customer_about_ticket(ctx, session, must_get(session, Shop, shop_id), ticket, sms_body, "comment",
                                      comment_id=comment.id)
    return comment


def list_comments(session: Session, shop_id: int, ticket_id: int, *, public_only: bool = False) -> list[Comment]:
    get_ticket(session, shop_id, ticket_id)
    query = (select(Comment).options(selectinload(Comment.attachments))
             .where(Comment.shop_id == shop_id, Comment.ticket_id == ticket_id).order_by(Comment.id))
    if public_only:
        query = query.where(Comment.public.is_(True))
    return list(session.scalars(query))

"""Canned replies: a shop's ready-made comments ("Your part is on order…"), inserted into the comment box and
rendered for that ticket with the SMS templates' variables.

They run in the same sandbox as the SMS templates and are checked the same way when saved (syntax, variables,
filters, cost: services/templates.check_template), so inserting one never runs away or names a variable that is
not there. Every query filters on the shop: another shop's reply is NotFound, like a ticket of another shop.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import CannedReply, Shop
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain.errors import FieldError, NotFound, ValidationFailed
from repairtext.services import templates, tickets

MAX_TITLE = 80
MAX_BODY = templates.MAX_TEMPLATE_CHARS
MAX_REPLIES = 200  # a menu, not a library: past this a shop tidies up before adding more


def list_replies(session: Session, shop_id: int) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).where(CannedReply.shop_id == shop_id)
                                .order_by(func.lower(CannedReply.title), CannedReply.id)))


def get_reply(session: Session, shop_id: int, reply_id: int) -> CannedReply:
    reply = session.scalar(select(CannedReply).where(CannedReply.id == reply_id, CannedReply.shop_id == shop_id))
    if reply is None:
        raise NotFound(f"no canned reply {reply_id}")
    return reply


def check_reply(title: str, body: str) -> tuple[str, str]:
    """The title and body as kept (trimmed); ValidationFailed names each field that is wrong, the body's line."""
    title, body = (title or "").strip(), (body or "").strip()
    errors = [FieldError(field, "may not contain a NUL character")  # PostgreSQL cannot store one
              for field, value in (("title", title), ("body", body)) if "\x00" in value]
    if errors:
        raise ValidationFailed(errors)
    if not title:
        errors.append(FieldError("title", "Give the reply a title"))
    elif len(title) > MAX_TITLE:
        errors.append(FieldError("title", f"a title may be at most {MAX_TITLE} characters"))
    if not body:
        errors.append(FieldError("body", "Write the reply"))
    else:
        try:
            templates.check_template(body)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return title, body


def _check_title_free(session: Session, shop_id: int, title: str, reply_id: int | None = None) -> None:
    # Titles are told apart without regard to case: "Part ordered" and "part ordered" would look the same in a menu.
    clash = session.scalar(select(CannedReply.id).where(CannedReply.shop_id == shop_id,
                                                        func.lower(CannedReply.title) == title.lower(),
                                                        CannedReply.id != (reply_id or 0)))
    if clash is not None:
        raise ValidationFailed.on("title", f"there is already a canned reply called {title!r}")


def do_add_reply(ctx: Context, shop_id: int, title: str, body: str) -> CannedReply:
    title, body = check_reply(title, body)
    try:
        with ctx.db.transaction() as session:
            _check_title_free(session, shop_id, title)
            count = session.scalar(select(func.count()).select_from(CannedReply).where(CannedReply.shop_id == shop_id))
            if (count or 0) >= MAX_REPLIES:
                raise ValidationFailed.on("title", f"a shop may keep at most {MAX_REPLIES} canned replies; "
                                                   "delete one you no longer use first")
            now = ctx.clock.now()
            reply = CannedReply(shop_id=shop_id, title=title, body=body, created_at=now, updated_at=now)
            session.add(reply)
    except IntegrityError:  # the same title added at the same moment by someone else
        raise ValidationFailed.on("title", f"there is already a canned reply called {title!r}") from None
    return reply


def do_update_reply(ctx: Context, shop_id: int, reply_id: int, title: str, body: str) -> CannedReply:
    title, body = check_reply(title, body)
    try:
        with ctx.db.transaction() as session:
            reply = get_reply(session, shop_id, reply_id)
            _check_title_free(session, shop_id, title, reply_id)
            reply.title, reply.body, reply.updated_at = title, body, ctx.clock.now()
    except IntegrityError:
        raise ValidationFailed.on("title", f"there is already a canned reply called {title!r}") from None
    return reply


def do_delete_reply(ctx: Context, shop_id: int, reply_id: int) -> str:
    """The deleted reply's title."""
    with ctx.db.transaction() as session:
        reply = get_reply(session, shop_id, reply_id)
        session.delete(reply)
        return reply.title


def render_reply(ctx: Context, session: Session, shop_id: int, reply_id: int, ticket_id: int) -> str:
    """The reply's text for this ticket; NotFound when either is not the shop's, ValidationFailed (on `body`)
    when this ticket's values break it."""
    reply = get_reply(session, shop_id, reply_id)
    ticket = tickets.get_ticket(session, shop_id, ticket_id)
    shop = must_get(session, Shop, shop_id)
    return templates.render(reply.body, templates.template_variables(shop, ticket, ctx.settings.public_url))

"""The triage inbox: texts no routing rule could place, with the reason and their pictures; placing one on a
ticket (adding the number to the customer only when staff tick it), dismissing one with a reason, and the list
of dismissed texts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.phones import readable
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import AssignIn, Id
from repairtext.entrypoints.api.views import inbox_view
from repairtext.entrypoints.files import stored_media_response
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, see_other, validated
from repairtext.entrypoints.web.rendering import page
from repairtext.services import inbox

router = APIRouter(include_in_schema=False)

# The page's reasons to dismiss (the API takes any text); "other" wants the details written out.
DISMISS_REASONS = {"spam": "Spam", "wrong_number": "Wrong number", "not_needed": "Not needed", "other": "Other"}
GONE = "That text is no longer in the inbox (someone may have placed or dismissed it already)."


def _media_base(message_id: int) -> str:
    return f"/ui/inbox/{message_id}/media"


def _inbox_page(request: Request, ctx, staff, *, errors: dict | None = None, values: dict | None = None,
                status: int = 200) -> Response:
    shop_id = staff.shop.id
    with ctx.db.reading() as session:
        rows = inbox.inbox_texts(session, shop_id)
        # A number some customer already has cannot be added to another; the page offers linking only for others.
        known = inbox.known_numbers(session, shop_id, {m.from_number for m in rows})
        texts = [dict(inbox_view(m, _media_base(m.id)), known_number=m.from_number in known,
                      shown_from=readable(m.from_number, staff.shop.country)) for m in rows]
        recent = queries.recent_tickets(session, shop_id)
        choices = [{"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                    "customer_id": t.customer_id, "customer": t.customer.name} for t in recent]
        dismissed = inbox.count(session, shop_id, inbox.DISMISSED)
    return page(request, "inbox.html", staff=staff, nav="inbox", texts=texts, tickets=choices,
                dismissed_count=dismissed, reasons=DISMISS_REASONS, errors=errors or {}, values=values or {},
                status=status)


@router.get("/inbox")
def inbox_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return _inbox_page(request, ctx, staff)


@router.get("/inbox/dismissed")
def dismissed_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    with ctx.db.reading() as session:
        texts = [dict(inbox_view(m, _media_base(m.id)), shown_from=readable(m.from_number, staff.shop.country))
                 for m in inbox.inbox_texts(session, staff.shop.id, inbox.DISMISSED)]
        total = inbox.count(session, staff.shop.id, inbox.DISMISSED)
    return page(request, "inbox_dismissed.html", staff=staff, nav="inbox", texts=texts, total=total,
                listed=inbox.DISMISSED_LISTED)


@router.post("/inbox/{message_id:id}/assign")
def assign(request: Request, message_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    staff = posted.staff
    link = posted.checked("link_customer")
    try:
        body = validated(AssignIn, {"ticket_id": posted.get("ticket_id") or None, "link_customer": link},
                         messages={"ticket_id": "Choose the ticket this text belongs to"})
        message = inbox.do_assign(ctx, staff.shop.id, message_id, body.ticket_id, link_customer=body.link_customer,
                                  by=staff.account.name)
    except ValidationFailed as exc:
        errors = {f"{field}-{message_id}": text for field, text in field_errors(exc).items()}
        return _inbox_page(request, ctx, staff, errors=errors, values={f"ticket_id-{message_id}": posted.get("ticket_id"),
                                                                       f"link_customer-{message_id}": link}, status=422)
    except NotFound:
        return flash(ctx, see_other("/inbox"), GONE, "error")
    done = "Placed the text on this ticket."
    if link:
        with ctx.db.reading() as session:
            customer = queries.ticket_customer_name(session, staff.shop.id, body.ticket_id)
        number = readable(message.from_number, staff.shop.country)
        done = f"Placed the text on this ticket; {number} is one of {customer}'s phones now."
    return flash(ctx, see_other(f"/tickets/{message.ticket_id}#comment-{message.comment_id}"), done)


@router.post("/inbox/{message_id:id}/dismiss")
def dismiss(request: Request, message_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    staff = posted.staff
    choice, details = posted.get("reason"), " ".join(posted.get("details").split())
    try:
        if choice not in DISMISS_REASONS:
            raise ValidationFailed.on("reason", "Choose why the text is dismissed")
        if choice == "other" and not details:
            raise ValidationFailed.on("details", "Say why (for example: the customer called instead)")
        reason = DISMISS_REASONS[choice] + (f": {details}" if details else "")
        if len(reason) > inbox.REASON_MAX:
            raise ValidationFailed.on("details", f"At most {inbox.REASON_MAX - len(DISMISS_REASONS[choice]) - 2} characters")
        inbox.do_dismiss(ctx, staff.shop.id, message_id, reason, by=staff.account.name)
    except ValidationFailed as exc:
        errors = {f"{field}-{message_id}": text for field, text in field_errors(exc).items()}
        return _inbox_page(request, ctx, staff, errors=errors, values={f"reason-{message_id}": choice,
                                                                       f"details-{message_id}": details}, status=422)
    except NotFound:
        return flash(ctx, see_other("/inbox"), GONE, "error")
    return flash(ctx, see_other("/inbox"), "Dismissed the text. It is kept under Dismissed.")


def _picture(ctx, staff, message_id: int, index: int, thumbnail: bool) -> Response:
    with ctx.db.reading() as session:
        item = inbox.stored_media(session, staff.shop.id, message_id, index) if 0 <= index < 100 else None
    return stored_media_response(ctx.blobs, item, thumbnail, cache="private, max-age=86400")


@router.get("/ui/inbox/{message_id:id}/media/{index:id}")
def picture(message_id: Id, index: int, staff: StaffDep, ctx: ContextDep) -> Response:
    return _picture(ctx, staff, message_id, index, thumbnail=False)


@router.get("/ui/inbox/{message_id:id}/media/{index:id}/thumbnail")
def thumbnail(message_id: Id, index: int, staff: StaffDep, ctx: ContextDep) -> Response:
    return _picture(ctx, staff, message_id, index, thumbnail=True)

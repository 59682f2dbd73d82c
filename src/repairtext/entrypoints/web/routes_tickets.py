"""Tickets and customers: the list, opening a ticket, adding a customer, a ticket's conversation and its forms."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import (
    CommentCreate,
    CommentMoveIn,
    CustomerCreate,
    Id,
    SegmentsIn,
    TicketCreate,
)
from repairtext.entrypoints.api.views import customer_view, ticket_view
from repairtext.entrypoints.files import attachment_response
from repairtext.entrypoints.web import conversation, queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, form_id, see_other, validated, whole_number
from repairtext.entrypoints.web.rendering import page
from repairtext.entrypoints.web.text_costs import cost_view
from repairtext.entrypoints.web.texting import verdict
from repairtext.services import canned_replies, comment_moves, customers, desk, inbox, opt_outs, tickets
from repairtext.services.outbound import check_texting
from repairtext.services.shops import status_names

router = APIRouter(include_in_schema=False)
PHONE_FIELDS = {"phones[0].number": "phone", "phones[0].type": "phone_type"}


LIST_PAGE = 50
SHOWING = {"open": True, "closed": False, "all": None}


def _tickets_page(request: Request, ctx, staff, *, failed: str = "", errors: dict | None = None,
                  values: dict | None = None, status: int = 200) -> Response:
    """The list (most recent activity first, with the filters and search in the query string) and the forms."""
    params = request.query_params
    show = params.get("show", "open") if params.get("show") in SHOWING else "open"
    of_customer = form_id(params.get("customer_id"))
    wanted = desk.TicketFilter(q=(params.get("q") or "")[:100] or None, status=params.get("status") or None,
                               open=SHOWING[show], needs_reply=True if params.get("needs_reply") else None,
                               customer_id=of_customer)
    offset = whole_number(params.get("from"), 10**9) or 0
    chosen = form_id((values or {}).get("customer_id")) or of_customer
    values = {**(values or {}), "customer_id": str(chosen or "")}
    with ctx.db.reading() as session:
        try:
            listing = desk.list_tickets(session, staff.shop.id, wanted, limit=LIST_PAGE,
                                        cursor=params.get("cursor") or None, region=staff.shop.country)
        except ValidationFailed:  # a stale or mangled cursor: start from the top rather than fail
            listing, offset = desk.list_tickets(session, staff.shop.id, wanted, limit=LIST_PAGE), 0
        total = desk.count_tickets(session, staff.shop.id, wanted, region=staff.shop.country)
        listed = [dict(ticket_view(t, ctx.settings.public_url), customer_name=t.customer.name) for t in listing.items]
        statuses = status_names(session, staff.shop.id)
        form = _open_ticket_form(ctx, session, staff, chosen,
                                 form_id(values.get("from_inbox") or params.get("from_inbox")))
        filtered_by = next((c["name"] for c in form["customers"] if c["id"] == of_customer), None)
    base = {k: v for k, v in {"q": wanted.q, "status": wanted.status, "show": show,
                              "needs_reply": "1" if wanted.needs_reply else None,
                              "customer_id": of_customer}.items() if v}
    next_url = (f"/tickets?{urlencode({**base, 'cursor': listing.next_cursor, 'from': offset + len(listed)})}"
                if listing.next_cursor else None)
    return page(request, "tickets.html", staff=staff, nav="tickets", tickets=listed, failed=failed,
                errors=errors or {}, values=values, status=status, filters=base, show=show, statuses=statuses,
                total=total, first=offset + 1, next_url=next_url, first_page_url=f"/tickets?{urlencode(base)}",
                filtered_by=filtered_by, **form)


def _open_ticket_form(ctx, session, staff, chosen: int | None, from_inbox: int | None) -> dict:
    """The new-ticket form: the customer choices, whether the chosen one can be texted (the rule every text is
    held to), and the inbox text it will place, if it was opened for one."""
    choices = queries.customer_choices(session, staff.shop.id, chosen)
    opted_out = opt_outs.of_customers(session, choices)
    picked = next((c for c in choices if c.id == chosen), None)
    texting = verdict(check_texting(ctx, session, must_get(session, Shop, staff.shop.id), picked), picked.id,
                      back=f"/tickets?customer={picked.id}#open-ticket") if picked else None
    waiting = queries.inbox_text(session, staff.shop.id, from_inbox) if from_inbox else None
    return {"customers": [customer_view(c, opted_out.get(c.id)) for c in choices], "texting": texting,
            "placing": {"id": waiting.id, "from": waiting.from_number, "body": waiting.body} if waiting else None}


@router.get("/tickets")
def list_tickets(request: Request, staff: StaffDep, ctx: ContextDep, customer: Id | None = None) -> Response:
    """`?customer=` picks the new-ticket form's customer (and says whether they can be texted); `?customer_id=`
    lists only that customer's tickets, and picks them too."""
    return _tickets_page(request, ctx, staff, values={"customer_id": str(customer or "")})


@router.post("/tickets")
def open_ticket(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    if posted.checked("check"):  # "Check texting" without JavaScript: the form again, with the verdict
        return _tickets_page(request, ctx, posted.staff, failed="ticket", values=posted.form)
    try:
        body = validated(TicketCreate, {"customer_id": posted.get("customer_id") or None,
                                        "subject": posted.get("subject").strip(), "problem": posted.get("problem")},
                         messages={"customer_id": "Choose a customer (or add one first)",
                                   "subject": "Give the ticket a subject (at most 200 characters)"})
        ticket = tickets.do_open_ticket(ctx, posted.staff.shop.id, customer_id=body.customer_id,
                                        subject=body.subject, problem=body.problem)
    except ValidationFailed as exc:
        return _tickets_page(request, ctx, posted.staff, failed="ticket", errors=field_errors(exc),
                             values=posted.form, status=422)
    opened = f"Opened ticket #{ticket.number}."
    if from_inbox := form_id(posted.get("from_inbox")):  # opened for a text waiting in the inbox
        try:
            inbox.do_assign(ctx, posted.staff.shop.id, from_inbox, ticket.id, by=posted.staff.account.name)
            opened = f"Opened ticket #{ticket.number} and placed the text on it."
        except (NotFound, ValidationFailed):
            return flash(ctx, see_other(f"/tickets/{ticket.id}"),
                         f"{opened} The text was no longer in the inbox (someone may have placed it already).", "error")
    return flash(ctx, see_other(f"/tickets/{ticket.id}"), opened)


@router.post("/customers")
def add_customer(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    phone = posted.get("phone").strip()
    try:
        body = validated(CustomerCreate, {
            "name": posted.get("name").strip(), "email": posted.get("email").strip() or None,
            "sms_enabled": posted.checked("sms_enabled"),
            "phones": [{"number": phone, "type": posted.get("phone_type")}] if phone else []},
            messages={"name": "Enter the customer's name (at most 200 characters)",
                      "email": "Enter an email address like jane@example.com, or leave it empty"})
        customer = customers.do_create_customer(ctx, posted.staff.shop.id, name=body.name, email=body.email,
                                                sms_enabled=body.sms_enabled,
                                                phones=[p.model_dump() for p in body.phones])
    except ValidationFailed as exc:
        return _tickets_page(request, ctx, posted.staff, failed="customer", errors=field_errors(exc, PHONE_FIELDS),
                             values=posted.form, status=422)
    return flash(ctx, see_other(f"/tickets?customer={customer.id}#open-ticket"),
                 f"Added {customer.name}. Open a ticket for them below.")


def _ticket_page(request: Request, ctx, staff, ticket_id: int, *, errors: dict | None = None,
                 values: dict | None = None, status: int = 200) -> Response:
    with ctx.db.transaction() as session:
        data = conversation.ticket_page(ctx, session, staff.shop.id, ticket_id)
    return page(request, "ticket.html", staff=staff, nav="tickets", errors=errors or {}, values=values or {},
                demo=bool(getattr(ctx, "demo_simulator_url", None)), status=status, **data)


@router.get("/tickets/{ticket_id:id}")
def show_ticket(request: Request, ticket_id: Id, staff: StaffDep, ctx: ContextDep, canned: Id | None = None) -> Response:
    """`?canned=ID` (the canned-reply menu without JavaScript) opens the page with that reply, filled in for
    this ticket, in the comment box."""
    if canned is None:
        return _ticket_page(request, ctx, staff, ticket_id)
    try:
        with ctx.db.reading() as session:
            text = canned_replies.render_reply(ctx, session, staff.shop.id, canned, ticket_id)
    except ValidationFailed as exc:
        problem = "; ".join(e.message for e in exc.errors)
        return _ticket_page(request, ctx, staff, ticket_id, status=422,
                            errors={"body": f"That canned reply cannot be filled in for this ticket: {problem}"})
    return _ticket_page(request, ctx, staff, ticket_id, values={"body": text, "canned": str(canned)})


@router.post("/tickets/{ticket_id:id}/comments")
def post_comment(request: Request, ticket_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    shop_id = posted.staff.shop.id
    try:
        body = validated(CommentCreate, {"body": posted.get("body"), "sms_body": posted.get("sms_body") or None,
                                         "hidden": posted.checked("hidden")})
        comment = tickets.do_comment(ctx, shop_id, ticket_id, body=body.body, sms_body=body.sms_body,
                                     hidden=body.hidden, author=posted.staff.author)
    except ValidationFailed as exc:
        return _ticket_page(request, ctx, posted.staff, ticket_id, errors=field_errors(exc), values=posted.form,
                            status=422)
    response = see_other(f"/tickets/{ticket_id}#comment-{comment.id}")
    if not comment.sms_body:
        return flash(ctx, response, "Comment posted.")
    with ctx.db.transaction() as session:
        refused = queries.refusal_since(session, shop_id, ticket_id, comment.created_at)
        sent = queries.texts_of_comment(session, shop_id, comment.id)
    if refused is not None:
        return flash(ctx, response, f"Comment posted, but not texted: {refused.error}.", "error")
    segments = sum(m.segments for m in sent)
    return flash(ctx, response, f"Comment posted and text queued ({segments} segment{'s' * (segments != 1)}).")


@router.post("/tickets/{ticket_id:id}/comments/{comment_id:id}/move")
def move_comment(request: Request, ticket_id: Id, comment_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    """Move a customer's text from this ticket to the one chosen; a repeat (double submit) finds it gone."""
    staff = posted.staff
    try:
        body = validated(CommentMoveIn, {"ticket_id": posted.get("ticket_id") or None},
                         messages={"ticket_id": "Choose the ticket this text belongs to"})
        moved = comment_moves.do_move_comment(ctx, staff.shop.id, comment_id, body.ticket_id, by=staff.account.name,
                                              from_ticket_id=ticket_id)
    except ValidationFailed as exc:
        return _ticket_page(request, ctx, staff, ticket_id, errors={f"move-{comment_id}": exc.errors[0].message},
                            status=422)
    except NotFound:
        # Not this ticket's (moved already, or another shop's): say so where it was, if this ticket is the shop's.
        return flash(ctx, see_other(f"/tickets/{ticket_id}"), "That text is no longer on this ticket "
                     "(someone may have moved it already).", "error")
    with ctx.db.reading() as session:
        number = tickets.get_ticket(session, staff.shop.id, moved.from_ticket_id).number
    return flash(ctx, see_other(f"/tickets/{moved.ticket_id}#comment-{moved.comment_id}"),
                 f"Moved the text here from ticket #{number}.")


@router.post("/tickets/{ticket_id:id}/status")
def change_status(ticket_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    response = see_other(f"/tickets/{ticket_id}")
    try:
        ticket = tickets.do_change_status(ctx, posted.staff.shop.id, ticket_id, posted.get("status"))
    except ValidationFailed as exc:
        return flash(ctx, response, str(exc.errors[0].message), "error")
    return flash(ctx, response, f"Status is now {ticket.status}.")


@router.post("/ui/segments")
def segments(body: SegmentsIn, staff: StaffDep) -> dict:
    """The SMS box's live cost, as this shop would send the text (smart encoding, provider), naming the characters
    that make it UCS-2 and what it would cost spelled with plain ones."""
    return cost_view(staff.shop, body.text)


def _attachment_response(ctx, staff, attachment_id: int, thumbnail: bool) -> Response:
    with ctx.db.transaction() as session:
        a = queries.staff_attachment(session, staff.shop.id, attachment_id)
    return attachment_response(ctx.blobs, a, thumbnail, cache="private, max-age=86400")


@router.get("/ui/attachments/{attachment_id:id}")
def attachment(attachment_id: Id, staff: StaffDep, ctx: ContextDep) -> Response:
    return _attachment_response(ctx, staff, attachment_id, thumbnail=False)


@router.get("/ui/attachments/{attachment_id:id}/thumbnail")
def thumbnail(attachment_id: Id, staff: StaffDep, ctx: ContextDep) -> Response:
    return _attachment_response(ctx, staff, attachment_id, thumbnail=True)

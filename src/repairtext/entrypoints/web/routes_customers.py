"""Customers: the list with search, a customer's page (tickets, texts, phones and their opt-outs, whether they
can be texted), adding one (also from a text in the inbox) and editing one. Saving goes through the services
PATCH /api/v1/customers/{id} uses, so the page and the API apply the same checks."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id
from repairtext.entrypoints.api.views import customer_view, message_view, ticket_view
from repairtext.entrypoints.web import customer_form, queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.conversation import why_not_delivered
from repairtext.entrypoints.web.forms import form_id, safe_next, see_other, whole_number
from repairtext.entrypoints.web.rendering import page
from repairtext.entrypoints.web.texting import verdict
from repairtext.services import customers, desk, opt_outs
from repairtext.services.outbound import check_texting

router = APIRouter(include_in_schema=False)
LIST_PAGE = 50
TICKETS_SHOWN = 10
TEXTS_SHOWN = 20


@router.get("/customers")
def list_customers(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    params = request.query_params
    q = (params.get("q") or "").strip()[:100] or None
    offset = whole_number(params.get("from"), 10**9) or 0
    with ctx.db.reading() as session:
        try:
            listing = desk.list_customers(session, staff.shop.id, q, limit=LIST_PAGE,
                                          cursor=params.get("cursor") or None, region=staff.shop.country)
        except ValidationFailed:  # a stale or mangled cursor: start from the top rather than fail
            listing, offset = desk.list_customers(session, staff.shop.id, q, limit=LIST_PAGE,
                                                  region=staff.shop.country), 0
        summaries = queries.ticket_summaries(session, staff.shop.id, [c.id for c in listing.items])
        opted_out = opt_outs.of_customers(session, listing.items)
        people = [dict(customer_view(c, opted_out.get(c.id)), tickets=summaries.get(c.id, (0, None))[0],
                       last_activity_at=summaries.get(c.id, (0, None))[1]) for c in listing.items]
        # Without a search the shop's count is one index range; a search says how many only on its last page.
        total = queries.customer_count(session, staff.shop.id) if q is None else None
    last = offset + len(people)
    if total is None and listing.next_cursor is None:
        total = last
    base = {"q": q} if q else {}
    next_url = (f"/customers?{urlencode({**base, 'cursor': listing.next_cursor, 'from': last})}"
                if listing.next_cursor else None)
    return page(request, "customers.html", staff=staff, nav="customers", customers=people, q=q or "",
                first=offset + 1, last=last, total=total, next_url=next_url,
                first_page_url=f"/customers?{urlencode(base)}")


@router.get("/customers/{customer_id:id}")
def show_customer(request: Request, customer_id: Id, staff: StaffDep, ctx: ContextDep) -> Response:
    shop_id = staff.shop.id
    with ctx.db.reading() as session:
        customer = customers.get_customer(session, shop_id, customer_id)
        numbers = [p.e164 for p in customer.phones]
        number_stops = opt_outs.of_numbers(session, shop_id, numbers)
        wanted = desk.TicketFilter(customer_id=customer.id)
        listed = desk.list_tickets(session, shop_id, wanted, limit=TICKETS_SHOWN)
        ticket_total = desk.count_tickets(session, shop_id, wanted)
        texts = [dict(view, outcome=why_not_delivered(view)) for view in (
            message_view(m) for m in queries.customer_texts(session, shop_id, customer.id, numbers, TEXTS_SHOWN))]
        shown = customer_view(customer, opt_outs.of_customers(session, [customer]).get(customer.id))
        texting = verdict(check_texting(ctx, session, must_get(session, Shop, shop_id), customer), customer.id,
                          back=f"/customers/{customer.id}")
    phones = [dict(p, opted_out=number_stops.get(p["number"])) for p in shown["phones"]]
    return page(request, "customer.html", staff=staff, nav="customers", customer=shown, phones=phones,
                tickets=[ticket_view(t, ctx.settings.public_url) for t in listed.items], ticket_total=ticket_total,
                texts=texts, texting=texting, tickets_url=f"/tickets?{urlencode({'customer_id': customer.id, 'show': 'all'})}")


def _form_page(request: Request, staff, *, customer: dict | None, values: dict, errors: dict | None = None,
               back: str = "", inbox_text: dict | None = None, status: int = 200) -> Response:
    title = f"Edit {customer['name']}" if customer else "New customer"
    return page(request, "customer_form.html", staff=staff, nav="customers", customer=customer, title=title,
                values=values, errors=errors or {}, back=back, inbox_text=inbox_text,
                phone_types=customer_form.PHONE_TYPES, status=status)


def _inbox_text(ctx, shop_id: int, message_id: str) -> dict | None:
    if (wanted := form_id(message_id)) is None:
        return None
    with ctx.db.reading() as session:
        message = queries.inbox_text(session, shop_id, wanted)
        return {"id": message.id, "from": message.from_number, "body": message.body} if message else None


@router.get("/customers/new")
def new_customer(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    """`?phone=` fills in a mobile phone; `&from_inbox=<text id>`: the customer is added for that text."""
    phone = (request.query_params.get("phone") or "").strip()[:40]
    inbox_text = _inbox_text(ctx, staff.shop.id, request.query_params.get("from_inbox") or "")
    if inbox_text and not phone:
        phone = inbox_text["from"]
    rows = [{"number": customer_form.editable_number(phone, staff.shop.country) if phone.startswith("+") else phone,
             "type": "mobile", "remove": False}] if phone else []
    values = customer_form.with_blank_rows({"name": "", "email": "", "sms_enabled": True, "rows": rows},
                                           0 if rows else 1)
    return _form_page(request, staff, customer=None, values=values, inbox_text=inbox_text)


@router.post("/customers/new")
def create_customer(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    staff = posted.staff
    values = customer_form.values_posted(posted)
    inbox_text = _inbox_text(ctx, staff.shop.id, posted.get("from_inbox"))
    if posted.checked("more_phones"):
        blanks = sum(1 for r in values["rows"] if not r["number"] and not r["remove"]) + 1
        return _form_page(request, staff, customer=None, values=customer_form.with_blank_rows(values, blanks),
                          inbox_text=inbox_text)
    try:
        body = customer_form.creation(values, staff.shop.country)
        customer = customers.do_create_customer(ctx, staff.shop.id, name=body.name, email=body.email,
                                                sms_enabled=body.sms_enabled,
                                                phones=[p.model_dump() for p in body.phones],
                                                claim_inbox_texts=inbox_text is not None)
    except customer_form.FormInvalid as exc:
        return _form_page(request, staff, customer=None, values=customer_form.with_blank_rows(values),
                          errors=exc.errors, inbox_text=inbox_text, status=422)
    except ValidationFailed as exc:
        return _form_page(request, staff, customer=None, values=customer_form.with_blank_rows(values),
                          errors=customer_form.errors_of(exc, values), inbox_text=inbox_text, status=422)
    if inbox_text is None:
        return flash(ctx, see_other(f"/customers/{customer.id}"), f"Added {customer.name}.")
    if posted.checked("open_ticket"):
        return flash(ctx, see_other(f"/tickets?{urlencode({'customer': customer.id, 'from_inbox': inbox_text['id']})}"
                                    "#open-ticket"),
                     f"Added {customer.name}. Open a ticket for them: the text goes on it.")
    return flash(ctx, see_other(f"/inbox#inbox-{inbox_text['id']}"),
                 f"Added {customer.name}. Their texts now reach them: place this one on a ticket of theirs.")


@router.get("/customers/{customer_id:id}/edit")
def edit_customer(request: Request, customer_id: Id, staff: StaffDep, ctx: ContextDep) -> Response:
    with ctx.db.reading() as session:
        customer = customers.get_customer(session, staff.shop.id, customer_id)
        values = customer_form.with_blank_rows(customer_form.values_of(customer, staff.shop.country))
        shown = customer_view(customer, None)
    back = safe_next(request.query_params.get("next"), "")
    return _form_page(request, staff, customer=shown, values=values, back=back)


@router.post("/customers/{customer_id:id}/edit")
def save_customer(request: Request, customer_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    staff = posted.staff
    with ctx.db.reading() as session:
        shown = customer_view(customers.get_customer(session, staff.shop.id, customer_id), None)
    values = customer_form.values_posted(posted)
    back = safe_next(posted.get("next"), "")
    if posted.checked("more_phones"):
        blanks = sum(1 for r in values["rows"] if not r["number"] and not r["remove"]) + 1
        return _form_page(request, staff, customer=shown, values=customer_form.with_blank_rows(values, blanks),
                          back=back)
    try:
        customer = customers.do_update_customer(ctx, staff.shop.id, customer_id, customer_form.changes(values, staff.shop.country))
    except customer_form.FormInvalid as exc:
        return _form_page(request, staff, customer=shown, values=customer_form.with_blank_rows(values),
                          errors=exc.errors, back=back, status=422)
    except ValidationFailed as exc:
        return _form_page(request, staff, customer=shown, values=customer_form.with_blank_rows(values),
                          errors=customer_form.errors_of(exc, values), back=back, status=422)
    return flash(ctx, see_other(back or f"/customers/{customer.id}"), f"Saved {customer.name}.")


@router.get("/ui/customers/{customer_id:id}/texting")
def texting(customer_id: Id, staff: StaffDep, ctx: ContextDep, back: str = "") -> dict:
    """Whether a customer can be texted, for the new-ticket form as the choice changes (the same verdict the
    page renders without JavaScript)."""
    with ctx.db.reading() as session:
        customer = customers.get_customer(session, staff.shop.id, customer_id)
        answer = check_texting(ctx, session, must_get(session, Shop, staff.shop.id), customer)
        return verdict(answer, customer.id, back=safe_next(back, "") or None)

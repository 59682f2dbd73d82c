"""Editing a ticket: its subject, its problem, and whose it is (another customer of the same shop), through the
service PATCH /api/v1/tickets/{id} uses."""

from __future__ import annotations

from contextlib import suppress

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id, TicketUpdate
from repairtext.entrypoints.api.views import ticket_view
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, form_id, see_other, validated
from repairtext.entrypoints.web.rendering import page
from repairtext.services import customers, desk, tickets

router = APIRouter(include_in_schema=False)
FOUND = 50


def _edit_page(request: Request, ctx, staff, ticket_id: int, *, values: dict | None = None,
               errors: dict | None = None, status: int = 200) -> Response:
    """The form; `?find=` narrows the customer choices to a search (a shop with 50,000 customers does not
    scroll), and the ticket's own customer is always among them."""
    find = (request.query_params.get("find") or "").strip()[:100]
    with ctx.db.reading() as session:
        ticket = tickets.get_ticket(session, staff.shop.id, ticket_id)
        chosen = form_id(values.get("customer_id")) if values else None
        if find:
            choices = desk.list_customers(session, staff.shop.id, find, limit=FOUND, region=staff.shop.country).items
        else:
            choices = queries.customer_choices(session, staff.shop.id, ticket.customer_id)
        wanted = {ticket.customer_id} | ({chosen} if chosen else set())
        for missing in wanted - {c.id for c in choices}:
            with suppress(NotFound):  # a choice posted from elsewhere, or of another shop, is not offered
                choices.append(customers.get_customer(session, staff.shop.id, missing))
        people = [{"id": c.id, "name": c.name, "phone": c.phones[0].e164 if c.phones else None} for c in choices]
        shown = ticket_view(ticket, ctx.settings.public_url)
    values = values or {"subject": shown["subject"], "problem": shown["problem"],
                        "customer_id": str(shown["customer_id"])}
    return page(request, "ticket_edit.html", staff=staff, nav="tickets", ticket=shown, customers=people,
                values=values, errors=errors or {}, find=find, status=status)


@router.get("/tickets/{ticket_id:id}/edit")
def edit_ticket(request: Request, ticket_id: Id, staff: StaffDep, ctx: ContextDep) -> Response:
    return _edit_page(request, ctx, staff, ticket_id)


@router.post("/tickets/{ticket_id:id}/edit")
def save_ticket(request: Request, ticket_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    try:
        body = validated(TicketUpdate, {"subject": posted.get("subject").strip(), "problem": posted.get("problem"),
                                        "customer_id": posted.get("customer_id") or None},
                         messages={"customer_id": "Choose the customer this ticket is for",
                                   "subject": "Give the ticket a subject (at most 200 characters)",
                                   "problem": "The problem may be at most 10,000 characters"})
        ticket = tickets.do_update_ticket(ctx, posted.staff.shop.id, ticket_id, body.model_dump(exclude_unset=True),
                                          by=posted.staff.author)
    except ValidationFailed as exc:
        return _edit_page(request, ctx, posted.staff, ticket_id, values=posted.form, errors=field_errors(exc),
                          status=422)
    return flash(ctx, see_other(f"/tickets/{ticket.id}"), f"Saved ticket #{ticket.number}.")

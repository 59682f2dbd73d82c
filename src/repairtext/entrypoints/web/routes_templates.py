"""SMS templates: every trigger with its text, saved with the line and problem named, previewed on a ticket."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import TemplateIn, TemplatePreviewIn
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import see_other, validated
from repairtext.entrypoints.web.rendering import page, trigger_label
from repairtext.services import templates, tickets
from repairtext.services.outbound import cost_of

router = APIRouter(include_in_schema=False)
VARIABLE_NAMES = [f"{group}.{name}" for group, names in templates.VARIABLES.items() for name in sorted(names)]


def _templates_page(request: Request, ctx, staff, *, trigger: str = "", body: str | None = None,
                    error: str = "", preview: dict | None = None, ticket_id: str = "", status: int = 200) -> Response:
    with ctx.db.transaction() as session:
        saved = templates.list_templates(session, staff.shop.id)
        recent = queries.recent_tickets(session, staff.shop.id, limit=50)
        choices = [{"id": t.id, "number": t.number, "subject": t.subject, "customer": t.customer.name} for t in recent]
    rows = []
    for t in saved:
        mine = t.trigger == trigger
        rows.append({"trigger": t.trigger, "body": body if mine and body is not None else (t.body or ""),
                     "is_default": t.is_default, "off": not t.body, "error": error if mine else "",
                     "preview": preview if mine else None})
    return page(request, "templates.html", staff=staff, nav="templates", templates=rows, tickets=choices,
                ticket_id=ticket_id, variables=VARIABLE_NAMES, status=status)


@router.get("/templates")
def list_templates(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return _templates_page(request, ctx, staff)


@router.post("/templates/save")
def save_template(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    trigger, body = posted.get("trigger"), posted.get("body")
    try:
        checked = validated(TemplateIn, {"body": body})
        with ctx.db.transaction() as session:
            view = templates.do_save_template(session, posted.staff.shop.id, trigger, checked.body, ctx.clock.now())
    except ValidationFailed as exc:
        return _templates_page(request, ctx, posted.staff, trigger=trigger, body=body, status=422,
                               error="; ".join(e.message for e in exc.errors), ticket_id=posted.get("ticket_id"))
    label = trigger_label(view.trigger)
    note = f"Saved the {label} text." if view.body else f"The {label} text is off: nothing is sent for it."
    return flash(ctx, see_other("/templates"), note)


@router.post("/templates/preview")
def preview_template(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    """Renders the text as typed (saved or not) for one ticket, with what it would cost."""
    trigger, body, ticket_id = posted.get("trigger"), posted.get("body"), posted.get("ticket_id")
    try:
        checked = validated(TemplatePreviewIn, {"body": body, "ticket_id": ticket_id or None},
                            messages={"ticket_id": "Choose a ticket to preview the text with"})
        with ctx.db.transaction() as session:
            shop = must_get(session, Shop, posted.staff.shop.id)
            ticket = tickets.get_ticket(session, shop.id, checked.ticket_id)
            text = templates.render(checked.body, templates.template_variables(shop, ticket, ctx.settings.public_url))
            encoding, segments, credits = cost_of(shop, text)
    except NotFound:
        return _templates_page(request, ctx, posted.staff, trigger=trigger, body=body, status=422,
                               error="That ticket is not in this shop.")
    except ValidationFailed as exc:
        return _templates_page(request, ctx, posted.staff, trigger=trigger, body=body, ticket_id=ticket_id,
                               error="; ".join(e.message for e in exc.errors), status=422)
    preview = {"text": text, "encoding": encoding, "segments": segments, "credits": credits,
               "ticket_number": ticket.number}
    return _templates_page(request, ctx, posted.staff, trigger=trigger, body=body, preview=preview,
                           ticket_id=ticket_id)

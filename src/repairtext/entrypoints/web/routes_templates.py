"""SMS templates: every trigger with its text, saved with the line and problem named, previewed on a ticket, and
priced for a typical ticket. Everything a template's form answers lands beside that template: the form posts to
its anchor (`#trigger-…`), so the page a browser shows after a refusal or a save opens at the template, and the
page's script checks and previews in place (`/ui/templates/check`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.plain_text import plain_spelling
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id, Strict, TemplateIn, TemplatePreviewIn
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import see_other, validated
from repairtext.entrypoints.web.rendering import page, trigger_anchor, trigger_label
from repairtext.entrypoints.web.text_costs import cost_view
from repairtext.services import canned_replies, templates, tickets
from repairtext.services.outbound import cost_of

router = APIRouter(include_in_schema=False)
VARIABLE_NAMES = [f"{group}.{name}" for group, names in templates.VARIABLES.items() for name in sorted(names)]


def typical_cost(shop: Shop, trigger: str, body: str, public_url: str) -> dict | None:
    """What the text costs for a typical ticket (services/templates.typical_variables); None when it is off or
    does not render (its error is shown instead)."""
    if not body.strip():
        return None
    try:
        text = templates.render(body, templates.typical_variables(shop, trigger, public_url))
    except ValidationFailed:
        return None
    return dict(cost_view(shop, text), text=text)


def templates_page(request: Request, ctx, staff, *, trigger: str = "", body: str | None = None, error: str = "",
                   preview: dict | None = None, ticket_id: str = "", canned: dict | None = None,
                   status: int = 200) -> Response:
    """The templates and the canned replies. `canned` is a canned-reply form that was refused:
    {"id": reply id or "new", "values": {title, body}, "errors": {field: message}}."""
    with ctx.db.reading() as session:
        saved = templates.list_templates(session, staff.shop.id)
        recent = queries.recent_tickets(session, staff.shop.id, limit=50)
        choices = [{"id": t.id, "number": t.number, "subject": t.subject, "customer": t.customer.name} for t in recent]
        replies = [{"id": r.id, "title": r.title, "body": r.body}
                   for r in canned_replies.list_replies(session, staff.shop.id)]
    rows = []
    for t in saved:
        mine = t.trigger == trigger
        text = body if mine and body is not None else (t.body or "")
        rows.append({"trigger": t.trigger, "anchor": trigger_anchor(t.trigger), "body": text,
                     "is_default": t.is_default, "off": not t.body, "error": error if mine else "",
                     "preview": preview if mine else None,
                     "typical": None if mine and error else typical_cost(staff.shop, t.trigger, text,
                                                                         ctx.settings.public_url)})
    return page(request, "templates.html", staff=staff, nav="templates", templates=rows, tickets=choices,
                ticket_id=ticket_id, variables=VARIABLE_NAMES, replies=replies,
                canned=canned or {"id": None, "values": {}, "errors": {}}, status=status,
                typical_ticket=f"#{templates.TYPICAL_NUMBER} {templates.TYPICAL_SUBJECT} for {templates.TYPICAL_CUSTOMER}")


@router.get("/templates")
def list_templates(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return templates_page(request, ctx, staff)


@router.post("/templates/save")
def save_template(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    trigger, body = posted.get("trigger"), posted.get("body")
    try:
        checked = validated(TemplateIn, {"body": body})
        with ctx.db.transaction() as session:
            view = templates.do_save_template(session, posted.staff.shop.id, trigger, checked.body, ctx.clock.now())
    except ValidationFailed as exc:
        return templates_page(request, ctx, posted.staff, trigger=trigger, body=body, status=422,
                              error="; ".join(e.message for e in exc.errors), ticket_id=posted.get("ticket_id"))
    label, anchor = trigger_label(view.trigger), trigger_anchor(view.trigger)
    note = f"Saved the {label} text." if view.body else f"The {label} text is off: nothing is sent for it."
    # Back at the template just saved, with the note beside it (not in a banner at the top of a long page).
    return flash(ctx, see_other(f"/templates#{anchor}"), note, near=anchor)


@router.post("/templates/preview")
def preview_template(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    """Renders the text as typed (saved or not) for one ticket, with what it would cost."""
    trigger, body, ticket_id = posted.get("trigger"), posted.get("body"), posted.get("ticket_id")
    try:
        checked = validated(TemplatePreviewIn, {"body": body, "ticket_id": ticket_id or None},
                            messages={"ticket_id": "Choose a ticket to preview the text with"})
        with ctx.db.reading() as session:
            shop = must_get(session, Shop, posted.staff.shop.id)
            ticket = tickets.get_ticket(session, shop.id, checked.ticket_id)
            text = templates.render(checked.body, templates.template_variables(shop, ticket, ctx.settings.public_url))
            cost = cost_view(posted.staff.shop, text)
    except NotFound:
        return templates_page(request, ctx, posted.staff, trigger=trigger, body=body, status=422,
                              error="That ticket is not in this shop.")
    except ValidationFailed as exc:
        return templates_page(request, ctx, posted.staff, trigger=trigger, body=body, ticket_id=ticket_id,
                              error="; ".join(e.message for e in exc.errors), status=422)
    preview = dict(cost, text=text, ticket_number=ticket.number)
    return templates_page(request, ctx, posted.staff, trigger=trigger, body=body, preview=preview,
                          ticket_id=ticket_id)


class TemplateCheckIn(Strict):
    trigger: str = Field(max_length=120)
    body: str = Field(max_length=templates.MAX_TEMPLATE_CHARS)
    ticket_id: Id | None = None


@router.post("/ui/templates/check")
def check_template(body: TemplateCheckIn, staff: StaffDep, ctx: ContextDep) -> dict:
    """The editor's live check as staff type: the line and problem (422, `errors: [{field: "body", …}]`), or the
    text for the chosen ticket (or a typical one) with its cost."""
    with ctx.db.reading() as session:
        templates.check_trigger(session, staff.shop.id, body.trigger)
        if not body.body.strip():
            return {"off": True}
        if body.ticket_id is None:
            variables, about = templates.typical_variables(staff.shop, body.trigger, ctx.settings.public_url), None
        else:
            ticket = tickets.get_ticket(session, staff.shop.id, body.ticket_id)
            variables = templates.template_variables(staff.shop, ticket, ctx.settings.public_url)
            about = ticket.number
        text = templates.render(body.body, variables)
        view = dict(cost_view(staff.shop, text), text=text, off=False, ticket_number=about)
        if view["plain"] is not None:
            view["plain"] = _plain_source(staff.shop, body.body, variables)
    return view


def _plain_source(shop: Shop, source: str, variables: dict) -> dict | None:
    """"Use plain characters" for a template: the source spelled plainly (never the text rendered from it, which
    would bake one ticket's values in), with what it then costs."""
    plain = plain_spelling(source)
    try:
        encoding, segments, credits = cost_of(shop, templates.render(plain, variables))
    except ValidationFailed:
        return None
    return {"text": plain, "encoding": encoding, "segments": segments, "credits": credits}

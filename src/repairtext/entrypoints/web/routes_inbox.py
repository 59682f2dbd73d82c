"""The triage inbox: texts no routing rule could place, with the reason, and placing one on a ticket."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import AssignIn, Id
from repairtext.entrypoints.api.views import inbox_view
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import see_other, validated
from repairtext.entrypoints.web.rendering import page
from repairtext.services import inbox

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
def inbox_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    with ctx.db.transaction() as session:
        texts = [inbox_view(m, f"/ui/inbox/{m.id}/media") for m in inbox.inbox_texts(session, staff.shop.id)]
        recent = queries.recent_tickets(session, staff.shop.id)
        choices = [{"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                    "customer_id": t.customer_id, "customer": t.customer.name} for t in recent]
    return page(request, "inbox.html", staff=staff, nav="inbox", texts=texts, tickets=choices)


@router.post("/inbox/{message_id:int}/assign")
def assign(message_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    response = see_other("/inbox")
    try:
        body = validated(AssignIn, {"ticket_id": posted.get("ticket_id") or None},
                         messages={"ticket_id": "Choose the ticket this text belongs to"})
        message = inbox.do_assign(ctx, posted.staff.shop.id, message_id, body.ticket_id)
    except ValidationFailed as exc:
        return flash(ctx, response, exc.errors[0].message, "error")
    except NotFound:
        return flash(ctx, response, "That text is no longer in the inbox (someone may have placed it already).",
                     "error")
    return flash(ctx, see_other(f"/tickets/{message.ticket_id}"), "Placed the text on this ticket.")

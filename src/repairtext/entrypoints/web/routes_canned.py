"""Canned replies: kept on the templates page (add, edit, delete; refused with the field and line named, beside
the reply), rendered for a ticket when staff insert one into the comment box."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.domain.errors import ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, see_other
from repairtext.entrypoints.web.routes_templates import templates_page
from repairtext.services import canned_replies

router = APIRouter(include_in_schema=False)


def _refused(request: Request, ctx, posted, which: int | str, exc: ValidationFailed) -> Response:
    return templates_page(request, ctx, posted.staff, status=422,
                          canned={"id": which, "values": posted.form, "errors": field_errors(exc)})


@router.post("/templates/canned")
def add_reply(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    try:
        reply = canned_replies.do_add_reply(ctx, posted.staff.shop.id, posted.get("title"), posted.get("body"))
    except ValidationFailed as exc:
        return _refused(request, ctx, posted, "new", exc)
    anchor = f"canned-{reply.id}"
    return flash(ctx, see_other(f"/templates#{anchor}"), f"Added the canned reply “{reply.title}”.", near=anchor)


@router.post("/templates/canned/{reply_id:id}")
def edit_reply(request: Request, reply_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    try:
        reply = canned_replies.do_update_reply(ctx, posted.staff.shop.id, reply_id, posted.get("title"),
                                               posted.get("body"))
    except ValidationFailed as exc:
        return _refused(request, ctx, posted, reply_id, exc)
    anchor = f"canned-{reply.id}"
    return flash(ctx, see_other(f"/templates#{anchor}"), f"Saved the canned reply “{reply.title}”.", near=anchor)


@router.post("/templates/canned/{reply_id:id}/delete")
def delete_reply(reply_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    title = canned_replies.do_delete_reply(ctx, posted.staff.shop.id, reply_id)
    return flash(ctx, see_other("/templates#canned-replies"), f"Deleted the canned reply “{title}”.",
                 near="canned-replies")


@router.get("/ui/tickets/{ticket_id:id}/canned-replies/{reply_id:id}")
def render_reply(ticket_id: Id, reply_id: Id, staff: StaffDep, ctx: ContextDep) -> dict:
    """The reply filled in for this ticket, for the compose box (404 for another shop's ticket or reply)."""
    with ctx.db.reading() as session:
        text = canned_replies.render_reply(ctx, session, staff.shop.id, reply_id, ticket_id)
    return {"id": reply_id, "text": text}

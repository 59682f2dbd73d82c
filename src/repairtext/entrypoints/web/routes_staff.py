"""Settings → People: the shop's staff accounts; owners invite, change roles and remove people."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.domain.errors import Conflict, NotFound, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.schemas import Id
from repairtext.entrypoints.web.auth import PostedDep, Staff, StaffDep, flash
from repairtext.entrypoints.web.forms import see_other
from repairtext.entrypoints.web.rendering import page
from repairtext.services import staff as people

router = APIRouter(include_in_schema=False)


def invite_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/invite/{token}"


def _people_page(request: Request, ctx, staff: Staff, *, errors: dict | None = None, values: dict | None = None,
                 new_invite: dict | None = None, status: int = 200) -> Response:
    with ctx.db.reading() as session:
        accounts = people.list_accounts(session, staff.shop.id)
        invites = people.pending_invites(session, staff.shop.id, ctx.clock.now()) if staff.is_owner else []
    return page(request, "staff.html", staff=staff, nav="settings", people=accounts, invites=invites,
                errors=errors or {}, values=values or {}, new_invite=new_invite, status=status)


@router.get("/settings/staff")
def people_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return _people_page(request, ctx, staff)


@router.post("/settings/staff/invites")
def invite(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    try:
        invitation, token = people.do_invite(ctx, posted.staff.shop.id, posted.staff.account.id,
                                             email=posted.get("email"), role=posted.get("role"))
    except ValidationFailed as exc:
        return _people_page(request, ctx, posted.staff, status=422, values=posted.form,
                            errors={e.field: e.message for e in exc.errors})
    # Shown on this page only (never in a redirect or a cookie): the link is a secret, seen once.
    return _people_page(request, ctx, posted.staff, new_invite={
        "email": invitation.email, "link": invite_link(ctx.settings.public_url, token)})


@router.post("/settings/staff/invites/{invite_id:id}/withdraw")
def withdraw(invite_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    response = see_other("/settings/staff")
    try:
        people.do_withdraw_invite(ctx, posted.staff.shop.id, invite_id)
    except NotFound:
        return flash(ctx, response, "That invitation was already used or withdrawn.", "error")
    return flash(ctx, response, "Invitation withdrawn: the link no longer works.")


@router.post("/settings/staff/{account_id:id}/role")
def change_role(account_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    response = see_other("/settings/staff")
    try:
        account = people.do_change_role(ctx, posted.staff.shop.id, account_id, posted.get("role"))
    except (Conflict, ValidationFailed) as exc:
        return flash(ctx, response, _sentence(exc), "error")
    return flash(ctx, response, f"{account.name} is now {'an owner' if account.role == 'owner' else 'staff'}.")


@router.post("/settings/staff/{account_id:id}/remove")
def remove(account_id: Id, request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    response = see_other("/settings/staff")
    try:
        people.do_remove(ctx, posted.staff.shop.id, account_id)
    except Conflict as exc:
        return flash(ctx, response, _sentence(exc), "error")
    if account_id == posted.staff.account.id:
        return see_other("/sign-in")  # removed themselves: their session has just ended
    return flash(ctx, response, "Removed. They are signed out and can no longer sign in.")


def _sentence(exc: Exception) -> str:
    text = exc.errors[0].message if isinstance(exc, ValidationFailed) else str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")

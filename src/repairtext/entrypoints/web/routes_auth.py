"""Signing in with a staff account's email and password, and out; accepting an invitation."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.rate_limits import SIGN_IN_ADDRESS, SIGN_IN_IDENTITY, TooManyAttempts
from repairtext.entrypoints.api.deps import ContextDep, client_address
from repairtext.entrypoints.web import auth
from repairtext.entrypoints.web.auth import PostedDep
from repairtext.entrypoints.web.forms import see_other
from repairtext.entrypoints.web.rendering import page
from repairtext.services import rate_limits, staff

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    # Only a path on this site: "//evil.example" or "\\evil" would send a freshly signed-in user away.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tickets"


def _signed_in(request: Request, ctx) -> bool:
    try:
        auth.current_staff(request, ctx)
        return True
    except auth.SignInRequired:
        return False


@router.get("/")
def home(request: Request, ctx: ContextDep) -> Response:
    return see_other("/tickets" if _signed_in(request, ctx) else "/sign-in")


@router.get("/sign-in")
def sign_in_form(request: Request, ctx: ContextDep, next: str = "/tickets") -> Response:
    if _signed_in(request, ctx):
        return see_other(_safe_next(next))
    return _form(request, ctx, next, email="", error="")


def _form(request: Request, ctx, next: str, *, email: str, error: str, status: int = 200) -> Response:
    nonce = auth.sign_in_nonce(request)
    response = page(request, "signin.html", next=_safe_next(next), error=error, email=email, nonce=nonce,
                    status=status)
    auth.set_sign_in_nonce(ctx, response, nonce)
    return response


@router.post("/sign-in")
def sign_in(request: Request, ctx: ContextDep, email: str = Form(""), password: str = Form(""),
            next: str = Form("/tickets"), signin_nonce: str = Form("")) -> Response:
    email = email.strip()[:254]
    if not auth.sign_in_nonce_matches(request, signin_nonce):
        return _form(request, ctx, next, email=email, status=403,
                     error="This sign-in form has expired or came from another site. Sign in again.")
    if not email or not password:
        return _form(request, ctx, next, email=email, status=401, error="Enter your email and your password.")
    limits = ((SIGN_IN_IDENTITY, rate_limits.identity(email.lower())), (SIGN_IN_ADDRESS, client_address(request)))
    try:
        rate_limits.check(ctx, *limits)
    except TooManyAttempts as exc:
        response = _form(request, ctx, next, email=email, status=429,
                         error=f"Too many failed sign-ins for this email. Try again {exc.wait}, or ask "
                               "your shop's owner to check your account.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    account = staff.authenticate(ctx, email, password)
    if account is None:
        rate_limits.record_failure(ctx, *limits)
        return _form(request, ctx, next, email=email, status=401,
                     error="That email and password do not match an account. Check both, or ask your shop's "
                           "owner for a new invitation.")
    response = see_other(_safe_next(next))
    auth.sign_in(ctx, request, response, account)
    return response


@router.post("/sign-out")
def sign_out(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    response = see_other("/sign-in")
    auth.sign_out(ctx, request, response)
    return auth.flash(ctx, response, "Signed out.")


@router.get("/invite/{token}")
def invite_form(token: str, request: Request, ctx: ContextDep) -> Response:
    invite = staff.open_invite(ctx, token)
    if invite is None:
        raise NotFound("no such invitation")
    return _invite_page(request, ctx, invite, values={}, errors={})


def _invite_page(request: Request, ctx, invite, *, values: dict, errors: dict, status: int = 200) -> Response:
    nonce = auth.sign_in_nonce(request)
    response = page(request, "invite.html", invite=invite, values=values, errors=errors, nonce=nonce, status=status)
    auth.set_sign_in_nonce(ctx, response, nonce)
    return response


@router.post("/invite/{token}")
def accept_invite(token: str, request: Request, ctx: ContextDep, name: str = Form(""), password: str = Form(""),
                  signin_nonce: str = Form("")) -> Response:
    invite = staff.open_invite(ctx, token)
    if invite is None:
        raise NotFound("no such invitation")
    values = {"name": name}
    if not auth.sign_in_nonce_matches(request, signin_nonce):
        return _invite_page(request, ctx, invite, values=values, status=403,
                            errors={"name": "This form has expired or came from another site. Try again."})
    try:
        account = staff.do_accept_invite(ctx, token, name=name, password=password)
    except ValidationFailed as exc:
        return _invite_page(request, ctx, invite, values=values, status=422,
                            errors={e.field: e.message for e in exc.errors})
    response = see_other("/tickets")
    auth.sign_in(ctx, request, response, account)
    return auth.flash(ctx, response, f"Welcome, {account.name}. You are signed in.")

"""Signing in with the shop's API key, and out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from repairtext.domain.rate_limits import (
    SIGN_IN_ADDRESS,
    SIGN_IN_IDENTITY,
    TooManyAttempts,
)
from repairtext.entrypoints.api.deps import ContextDep, client_address
from repairtext.entrypoints.web import auth
from repairtext.entrypoints.web.auth import PostedDep
from repairtext.entrypoints.web.forms import see_other
from repairtext.entrypoints.web.rendering import page
from repairtext.services import api_keys, rate_limits

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    # Only a path on this site: "//evil.example" or "\\evil" would send a freshly signed-in user away.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tickets"


@router.get("/")
def sign_in_form(request: Request, ctx: ContextDep, next: str = "/tickets") -> Response:
    try:
        auth.current_staff(request, ctx)
        return see_other(_safe_next(next))  # already signed in
    except auth.SignInRequired:
        pass
    return _form(request, ctx, next, error="")


def _form(request: Request, ctx, next: str, error: str, status: int = 200) -> Response:
    nonce = auth.sign_in_nonce(request)
    response = page(request, "signin.html", next=_safe_next(next), error=error, nonce=nonce, status=status)
    auth.set_sign_in_nonce(ctx, response, nonce)
    return response


@router.post("/")
def sign_in(request: Request, ctx: ContextDep, api_key: str = Form(""), next: str = Form("/tickets"),
            signin_nonce: str = Form("")) -> Response:
    if not auth.sign_in_nonce_matches(request, signin_nonce):
        return _form(request, ctx, next, status=403,
                     error="This sign-in form has expired or came from another site. Paste your key again.")
    if not api_key.strip():
        return _form(request, ctx, next, error="Paste your shop's API key.", status=401)
    # The identity is the key's prefix (its public half), or what was typed when it has none.
    parts = api_keys.split_key(api_key)
    limits = ((SIGN_IN_IDENTITY, rate_limits.identity(parts[0] if parts else api_key)),
              (SIGN_IN_ADDRESS, client_address(request)))
    try:
        rate_limits.check(ctx, *limits)
    except TooManyAttempts as exc:
        response = _form(request, ctx, next, status=429,
                         error=f"Too many failed sign-ins. Try again {exc.wait}, with the right key.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    with ctx.db.reading() as session:
        key = api_keys.find_valid_key(session, api_key)
    if key is None:
        rate_limits.record_failure(ctx, *limits)
        return _form(request, ctx, next, status=401,
                     error="That API key is not valid: check you copied all of it (it starts with rt_), "
                           "or ask for a new one if it was revoked.")
    response = see_other(_safe_next(next))
    auth.sign_in(ctx, response, key.shop_id, key.id)
    return response


@router.post("/sign-out")
def sign_out(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    response = see_other("/")
    auth.sign_out(ctx, request, response)
    return auth.flash(ctx, response, "Signed out.")

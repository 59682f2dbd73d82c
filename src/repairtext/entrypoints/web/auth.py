"""Staff sign-in for the pages: a cookie holding a random session token, checked on the server every request.

The cookie holds only a random token; the session it names (services/staff_sessions.py) belongs to one staff
account and ends at sign-out, after a working day, or when the account is removed. Forms carry a CSRF token
derived from the cookie (SameSite=Lax already stops most cross-site posts; the token covers old browsers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from repairtext.adapters.db.models import Shop, StaffAccount
from repairtext.bootstrap import Context
from repairtext.domain.staff import Author, can_manage_shop
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.services import staff_sessions

COOKIE = "rt_session"
FLASH_COOKIE = "rt_flash"


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, /ui/ JSON endpoints answer 401."""


class CsrfFailed(Exception):
    pass


class OwnersOnly(Exception):
    """A staff member asked for something only the shop's owners may do."""


@dataclass(frozen=True)
class Staff:
    shop: Shop  # detached, with its numbers loaded
    account: StaffAccount  # detached
    csrf: str

    @property
    def is_owner(self) -> bool:
        return can_manage_shop(self.account.role)

    @property
    def author(self) -> Author:
        return Author("staff", self.account.name, staff_id=self.account.id)

    def require_owner(self) -> None:
        if not self.is_owner:
            raise OwnersOnly()


@dataclass(frozen=True)
class Posted:
    """A staff form that passed the CSRF check, as plain strings."""

    staff: Staff
    form: dict[str, str]

    def get(self, name: str) -> str:
        return self.form.get(name, "")

    def checked(self, name: str) -> bool:
        return name in self.form


def _key(ctx: Context, purpose: bytes) -> bytes:
    # One secret, separate keys per use: a flash cookie can never be replayed as a session.
    return hmac.new(ctx.settings.secret_key.encode(), b"repairtext web " + purpose, hashlib.sha256).digest()


def _sign(ctx: Context, purpose: bytes, payload: str) -> str:
    return hmac.new(_key(ctx, purpose), payload.encode(), hashlib.sha256).hexdigest()


def secure_cookies(ctx: Context) -> bool:
    return ctx.settings.public_url.startswith("https://")


def sign_in(ctx: Context, request: Request, response: Response, account: StaffAccount) -> None:
    """A new session for this browser; the one its cookie held before (someone else's, at a shared counter) ends
    on the server, so it does not live on unseen until it expires."""
    staff_sessions.do_end_session(ctx, request.cookies.get(COOKIE))
    token = staff_sessions.do_start_session(ctx, account)
    response.set_cookie(COOKIE, token, max_age=int(staff_sessions.MAX_AGE.total_seconds()), path="/",
                        httponly=True, samesite="lax", secure=secure_cookies(ctx))


def sign_out(ctx: Context, request: Request, response: Response) -> None:
    """Ends the session on the server, so a copy of the cookie kept elsewhere stops working too."""
    staff_sessions.do_end_session(ctx, request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(ctx))


SIGN_IN_NONCE = "rt_signin"


def sign_in_nonce(request: Request) -> str:
    """The sign-in form's anti-forgery value: a random nonce kept in a cookie that another site can neither
    read nor make the browser send (SameSite=Strict), echoed in the form. Without it, a page elsewhere could
    sign a visitor in to the attacker's shop (login CSRF)."""
    return request.cookies.get(SIGN_IN_NONCE) or secrets.token_urlsafe(24)


def set_sign_in_nonce(ctx: Context, response: Response, nonce: str) -> None:
    response.set_cookie(SIGN_IN_NONCE, nonce, max_age=3600, path="/", httponly=True, samesite="strict",
                        secure=secure_cookies(ctx))


def sign_in_nonce_matches(request: Request, posted: str) -> bool:
    expected = request.cookies.get(SIGN_IN_NONCE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), posted.encode())


def csrf_token(ctx: Context, cookie: str) -> str:
    return _sign(ctx, b"csrf", cookie)[:32]


def current_staff(request: Request, ctx: ContextDep) -> Staff:
    cookie = request.cookies.get(COOKIE, "")
    who = staff_sessions.signed_in(ctx, cookie)
    if who is None:
        raise SignInRequired()
    return Staff(who.shop, who.account, csrf_token(ctx, cookie))


StaffDep = Annotated[Staff, Depends(current_staff)]


async def posted_form(request: Request, staff: StaffDep) -> Posted:
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf", "")), staff.csrf):
        raise CsrfFailed()
    return Posted(staff, {k: str(v) for k, v in form.items() if isinstance(v, str)})


PostedDep = Annotated[Posted, Depends(posted_form)]


# Flash: one message carried across a redirect-after-post, signed so nobody can plant text in our pages.

def flash(ctx: Context, response: Response, text: str, kind: str = "ok", near: str = "") -> Response:
    """`near`: the id of the part of the next page the message is about; that page shows it there, beside what the
    person just did, instead of in the banner at the top (which a page opened at an anchor scrolls out of view)."""
    message = {"kind": kind, "text": text, **({"near": near} if near else {})}
    payload = base64.urlsafe_b64encode(json.dumps(message).encode()).decode()
    response.set_cookie(FLASH_COOKIE, f"{payload}.{_sign(ctx, b'flash', payload)}", max_age=60, path="/",
                        httponly=True, samesite="lax", secure=secure_cookies(ctx))
    return response


def read_flash(ctx: Context, request: Request) -> dict | None:
    payload, _, signature = request.cookies.get(FLASH_COOKIE, "").partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(ctx, b"flash", payload)):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None

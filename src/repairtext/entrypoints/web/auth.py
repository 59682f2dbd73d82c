"""Staff sign-in for the pages: an HMAC-signed cookie naming the shop and the API key it was opened with.

The cookie never holds the key itself, only ids and the time it was issued; each request re-checks that the key
still exists and is not revoked, so revoking a key signs out every browser that used it. Forms carry a CSRF
token derived from the cookie (SameSite=Lax already stops most cross-site posts; the token covers old browsers).
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

from repairtext.adapters.db.models import Shop
from repairtext.bootstrap import Context
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.web import queries

COOKIE = "rt_session"
FLASH_COOKIE = "rt_flash"
MAX_AGE = 12 * 3600  # a working day: a forgotten browser at the counter does not stay signed in for long


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, /ui/ JSON endpoints answer 401."""


class CsrfFailed(Exception):
    pass


@dataclass(frozen=True)
class Staff:
    shop: Shop  # detached, with its numbers loaded
    key_id: int
    csrf: str


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


def session_value(ctx: Context, shop_id: int, key_id: int) -> str:
    payload = f"{shop_id}.{key_id}.{int(ctx.clock.now().timestamp())}"
    return f"{payload}.{_sign(ctx, b'session', payload)}"


def read_session(ctx: Context, value: str | None) -> tuple[int, int] | None:
    """(shop id, key id) from a cookie that is ours and not expired, else None."""
    parts = (value or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(ctx, b"session", payload)):
        return None
    if ctx.clock.now().timestamp() - int(parts[2]) > MAX_AGE:
        return None
    return int(parts[0]), int(parts[1])


def secure_cookies(ctx: Context) -> bool:
    return ctx.settings.public_url.startswith("https://")


def sign_in(ctx: Context, response: Response, shop_id: int, key_id: int) -> None:
    response.set_cookie(COOKIE, session_value(ctx, shop_id, key_id), max_age=MAX_AGE, path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(ctx))


def sign_out(ctx: Context, response: Response) -> None:
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
    ids = read_session(ctx, cookie)
    if ids is None:
        raise SignInRequired()
    with ctx.db.transaction() as session:
        shop = queries.shop_for_session(session, *ids)
        if shop is None:
            raise SignInRequired()
        _ = shop.numbers
    return Staff(shop, ids[1], csrf_token(ctx, cookie))


StaffDep = Annotated[Staff, Depends(current_staff)]


async def posted_form(request: Request, staff: StaffDep) -> Posted:
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf", "")), staff.csrf):
        raise CsrfFailed()
    return Posted(staff, {k: str(v) for k, v in form.items() if isinstance(v, str)})


PostedDep = Annotated[Posted, Depends(posted_form)]


# Flash: one message carried across a redirect-after-post, signed so nobody can plant text in our pages.

def flash(ctx: Context, response: Response, text: str, kind: str = "ok") -> Response:
    payload = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
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

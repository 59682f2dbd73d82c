"""Jinja2 (autoescaped) and the few formatting filters the pages share; `page()` renders one with safe headers."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from repairtext.domain.phones import display
from repairtext.domain.receipt_words import provider_name
from repairtext.entrypoints.web import auth, queries
from repairtext.services import credits, desk

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

# Everything the pages load comes from us: no CDN, no inline script, no framing (clickjacking on forms).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
STAFF_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                 "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
# The portal's URL is its password: never leak it in a Referer, never let it be indexed.
PORTAL_HEADERS = {**STAFF_HEADERS, "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}

STATUS_TONES = {"New": "blue", "In Progress": "indigo", "Waiting for Parts": "amber", "Waiting on Customer": "amber",
                "Customer Reply": "rose", "Ready for Pickup": "green", "Resolved": "grey"}
TEXT_TONES = {"queued": "grey", "sending": "grey", "accepted": "blue", "sent": "blue", "delivered": "green",
              "received": "teal", "undelivered": "red", "failed": "red", "rejected": "red"}


def _asset_versions() -> dict[str, str]:
    # Content hashes in the URL let browsers cache the files for good and still see every change.
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()}


def _when(context, value: datetime | None, style: str = "short") -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(context.get("tz") or "UTC"))
    if style == "date":
        return local.strftime("%b %-d, %Y")
    if style == "precise":  # a status history: receipts come seconds apart, and support asks "which zone?"
        return local.strftime("%b %-d, %-I:%M:%S %p %Z")
    if style == "stamp":  # a moment on record, such as an opt-out: "3 Nov 2026 14:02"
        return local.strftime("%-d %b %Y %H:%M")
    return local.strftime("%b %-d, %-I:%M %p")


def trigger_label(trigger: str | None) -> str:
    if not trigger:
        return "Text"
    if trigger == "initial_problem":
        return "Initial Problem"
    if trigger.startswith("status:"):
        return f"Status: {trigger[len('status:'):]}"
    return {"comment": "Comment", "help_reply": "HELP reply"}.get(trigger, trigger.replace("_", " ").capitalize())


def avatar_letter(name: str) -> str:
    """A conversation's avatar: the author's initial, or "#" for a number ("(206) 555-0134")."""
    first = next((ch for ch in name if ch.isalnum()), "")
    return first.upper() if first.isalpha() else "#"


def trigger_anchor(trigger: str) -> str:
    """The id of a template's card on /templates, for links and for forms that answer beside it."""
    return "trigger-" + re.sub(r"[^a-z0-9]+", "-", trigger.lower()).strip("-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        when=jinja2.pass_context(_when),
        iso=lambda v: v.isoformat() if v else "",
        phone=display,
        status_tone=lambda s: STATUS_TONES.get(s, "slate"),
        text_tone=lambda s: TEXT_TONES.get(s, "slate"),
        trigger_label=trigger_label,
        avatar_letter=avatar_letter,
        provider_name=provider_name,
        count=lambda n: f"{n:,}",
        money=lambda cents: f"${cents / 100:,.2f}",
        trigger_anchor=trigger_anchor,
        plural=lambda n, word: f"{n:,} {word}{'' if n == 1 else 's'}",
    )
    versions = _asset_versions()
    env.globals["asset"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    return env


templates = Jinja2Templates(env=_environment())


def page(request: Request, name: str, *, staff: auth.Staff | None = None, status: int = 200, nav: str = "",
         tz: str | None = None, portal: bool = False, **data) -> Response:
    ctx = request.app.state.ctx
    inbox_count = needs_reply = 0
    low_credits = None
    if staff is not None:
        with ctx.db.reading() as session:
            inbox_count = queries.inbox_count(session, staff.shop.id)
            needs_reply = desk.needs_reply_count(session, staff.shop.id)
            low_credits = credits.low_credits_left(ctx, session, staff.shop)
    flash = auth.read_flash(ctx, request)
    context = {"staff": staff, "shop": staff.shop if staff else None, "csrf": staff.csrf if staff else "",
               "flash": flash, "nav": nav, "portal": portal, "inbox_count": inbox_count,
               "needs_reply_count": needs_reply, "low_credits": low_credits, "errors": {}, "values": {},
               "tz": tz or (staff.shop.time_zone if staff else "UTC"), **data}
    response = templates.TemplateResponse(request, name, context, status_code=status,
                                          headers=PORTAL_HEADERS if portal else STAFF_HEADERS)
    if flash is not None:
        response.delete_cookie(auth.FLASH_COOKIE, path="/")
    return response

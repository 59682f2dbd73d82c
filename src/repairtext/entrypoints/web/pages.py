"""The staff pages and the customer portal, installed on the app by `create_app`.

Pages are server-rendered and work without JavaScript; /static/app.js only enhances (live SMS cost, copy
buttons, confirmations). Routes parse a form, call a service, and render or redirect; rules live in services.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from repairtext.domain.errors import NotFound
from repairtext.domain.tickets import PORTAL_PATH
from repairtext.entrypoints.web import (
    auth,
    demo_reply,
    routes_account,
    routes_auth,
    routes_canned,
    routes_credits,
    routes_customers,
    routes_inbox,
    routes_portal,
    routes_staff,
    routes_templates,
    routes_ticket_edit,
    routes_tickets,
)
from repairtext.entrypoints.web.forms import see_other
from repairtext.entrypoints.web.rendering import STATIC_DIR, page

# The API and the webhooks answer problem+json; everything else is a page a person reads. The staff pages' own
# endpoints under /ui/ answer JSON to their scripts, and a page to a browser opening one (an attachment's link).
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/ui/", "/docs", "/openapi.json", "/healthz")
PORTAL_PREFIXES = (PORTAL_PATH, "/portal/")


def _for_people(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/ui/"):
        return "text/html" in request.headers.get("accept", "")
    return not path.startswith(MACHINE_PREFIXES)


def _signed_in(request: Request) -> auth.Staff | None:
    """Who this browser is signed in as, if anyone: an error page keeps a signed-in person's navigation."""
    try:
        return auth.current_staff(request, request.app.state.ctx)
    except auth.SignInRequired:
        return None


def _back(request: Request) -> str:
    """The page the person came from, when it is one of ours (the Referer's path only: never another site)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/") or referer.path.startswith("//"):
        return ""
    target = referer.path + (f"?{referer.query}" if referer.query else "")
    return "" if target == request.url.path else target


async def _answer(response: Response | Awaitable[Response]) -> Response:
    """Starlette allows sync or async exception handlers; FastAPI's own are async."""
    return await response if inspect.isawaitable(response) else response


def install(app: FastAPI) -> None:
    for module in (routes_auth, routes_tickets, routes_ticket_edit, routes_customers, routes_templates, routes_canned,
                   routes_credits, routes_account, routes_staff, routes_inbox, routes_portal, demo_reply):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(auth.SignInRequired)
    async def on_signed_out(request: Request, _exc: auth.SignInRequired):
        if not _for_people(request):
            return JSONResponse({"detail": "sign in again"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        come_back = request.method == "GET" and target != "/tickets"
        response = see_other(f"/sign-in?next={quote(target, safe='/')}" if come_back else "/sign-in")
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    @app.exception_handler(auth.OwnersOnly)
    async def on_owners_only(request: Request, _exc: auth.OwnersOnly):
        if not _for_people(request):
            return JSONResponse({"detail": "only the shop's owners may do this"}, status_code=403)
        return page(request, "error.html", status=403, title="Only owners can do this",
                    detail="Ask one of your shop's owners: they manage people, API keys, the provider and "
                           "buying credits.")

    @app.exception_handler(auth.CsrfFailed)
    async def on_csrf(request: Request, _exc: auth.CsrfFailed):
        return page(request, "error.html", staff=_signed_in(request), status=403, title="This form has expired",
                    detail="Nothing was saved. Open the form again and send it once more.",
                    back=_back(request), back_label="Back to the form")

    # A missing ticket, attachment, portal link or page is a 404 page for people; the API keeps its problem+json.
    api_not_found = app.exception_handlers.get(NotFound)
    api_http_error = app.exception_handlers.get(StarletteHTTPException)

    def not_found_page(request: Request):
        # The portal is the customer's: never the staff navigation there, whoever's browser it is.
        portal = request.url.path.startswith(PORTAL_PREFIXES)
        return page(request, "error.html", staff=None if portal else _signed_in(request), status=404,
                    portal=portal, title="Not found",
                    detail="There is nothing here. The link may be mistyped or out of date.",
                    back="" if portal else _back(request), back_label="Go back")

    @app.exception_handler(NotFound)
    async def on_not_found(request: Request, exc: NotFound):
        if _for_people(request) or api_not_found is None:
            return not_found_page(request)
        return await _answer(api_not_found(request, exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404 and _for_people(request):
            return not_found_page(request)
        if api_http_error is None:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return await _answer(api_http_error(request, exc))

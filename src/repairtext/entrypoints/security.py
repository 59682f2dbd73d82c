"""What every response and every log line gets, whichever route made it: security headers, HSTS behind https,
429 for clients that keep guessing secrets, and masked secrets in logs.

Headers a route set itself win (the staff pages and the portal have their own CSP and Referrer-Policy); the rest
are filled in here, once, for the API, /docs, the webhooks and the static files alike.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repairtext.config import Settings
from repairtext.domain.rate_limits import TooManyAttempts
from repairtext.entrypoints import log_redaction
from repairtext.entrypoints.api.problems import problem

# JSON, CSV and files render nothing and load nothing: the strictest policy costs them nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc come from their CDN (FastAPI's default pages); their inline script is allowed by its hash.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = ("default-src 'none'; script-src 'self' https://cdn.jsdelivr.net {hashes}; "
            "style-src 'self' https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
            "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
COMMON = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}
HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(body: bytes) -> str:
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                    for s in _INLINE_SCRIPT.findall(body))


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware): it only touches the response's start, so streams stay streams."""

    def __init__(self, app: ASGIApp, *, hsts: bool):
        self.app = app
        self.extra = {**COMMON, **({"strict-transport-security": HSTS} if hsts else {})}

    def _headers(self, path: str, headers: list, csp: str) -> list:
        present = {name.lower() for name, _ in headers}
        wanted = dict(self.extra, **{"content-security-policy": csp})
        if path.startswith("/api/"):
            wanted["cache-control"] = "no-store"  # a shop's data never sits in a shared cache
        return headers + [(k.encode(), v.encode()) for k, v in wanted.items() if k.encode() not in present]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(DOCS_PATHS):
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(path, list(message.get("headers", [])), API_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The docs pages are small and sent whole: hold the start until the body is known, to hash its script.
        start: Message | None = None
        body = b""

        async def buffered(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                body += message.get("body", b"")
                if message.get("more_body"):
                    return
                csp = DOCS_CSP.format(hashes=_script_hashes(body))
                start["headers"] = self._headers(scope["path"], list(start.get("headers", [])), csp)
                await send(start)
                start = None
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, buffered)


def install(app: FastAPI, settings: Settings) -> None:
    log_redaction.install()
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))

    @app.exception_handler(TooManyAttempts)
    async def on_too_many(request: Request, exc: TooManyAttempts) -> Response:
        headers = {"Retry-After": str(exc.retry_after)}
        if request.url.path.startswith("/api/"):
            refused = problem(429, "Too many failed attempts", f"{exc}; wait before trying again")
            refused.headers.update(headers)
            return refused
        detail = f"Too many failed attempts from your address. Try again {exc.wait}."
        try:
            from repairtext.entrypoints.web.rendering import page
        except ImportError:  # an API-only deployment has no pages
            return PlainTextResponse(detail, status_code=429, headers=headers)
        response = page(request, "error.html", status=429, portal=request.url.path.startswith("/portal/"),
                        title="Too many tries", detail=detail)
        response.headers.update(headers)
        return response

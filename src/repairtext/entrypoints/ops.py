"""What an operator's probes and Prometheus call: liveness, readiness and metrics."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repairtext import __version__
from repairtext.adapters import logs
from repairtext.adapters.db.migrate import current_and_head
from repairtext.adapters.metrics import CONTENT_TYPE
from repairtext.entrypoints.api.deps import ContextDep

router = APIRouter(include_in_schema=False)
PROVIDERS, KINDS = frozenset({"twilio", "flowroute"}), frozenset({"inbound", "status"})


@router.get("/healthz")
async def healthz() -> dict:
    return {"ok": True, "version": __version__}


@router.get("/readyz")
async def readyz(ctx: ContextDep) -> JSONResponse:
    """200 when the database answers and its schema is at the newest migration; 503 says which is not."""
    def check() -> tuple[bool, dict]:
        try:
            with ctx.db.reading() as session:
                session.execute(text("SELECT 1"))
            current, head = current_and_head(ctx.db.engine)
        except Exception as exc:  # any failure to reach the database is "not ready", with the reason
            return False, {"database": f"unreachable: {type(exc).__name__}"}
        if current != head:
            return False, {"database": "ok", "migrations": f"at {current}, head is {head}: run `repairtext migrate`"}
        return True, {"database": "ok", "migrations": head}

    ready, detail = await run_in_threadpool(check)
    return JSONResponse({"ready": ready, **detail}, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request, ctx: ContextDep) -> Response:
    token = ctx.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "send REPAIRTEXT_METRICS_TOKEN as 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(ctx.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)


class WebhookTimer:
    """Times every webhook from the first byte to the last, whatever the route answers (403s included)."""

    def __init__(self, app: ASGIApp, histogram):
        self.app, self.histogram = app, histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        # webhooks/twilio/inbound or webhooks/flowroute/{token}/inbound; labels come from a fixed set, so a
        # caller inventing paths cannot grow the metric's series without bound.
        parts = path.strip("/").split("/")
        provider = parts[1] if len(parts) > 1 and parts[1] in PROVIDERS else "other"
        kind = parts[-1] if len(parts) > 2 and parts[-1] in KINDS else "other"
        labels = (provider, kind)
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.histogram.labels(*labels).observe(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


class RequestId:
    """Every request gets an id (the caller's X-Request-ID if it is plain, else a new one), answered in the same
    header and carried by every log line written while handling it, in threads too (contextvars)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = logs.request_id_from(given)
        token = logs.request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.request_id.reset(token)


def install(app: FastAPI, ctx) -> None:
    app.include_router(router)
    app.add_middleware(WebhookTimer, histogram=ctx.metrics.webhook_seconds)
    app.add_middleware(RequestId)

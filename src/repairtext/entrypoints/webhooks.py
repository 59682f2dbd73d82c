"""What providers call. Each webhook authenticates, stores durably (deduplicated by the provider's message id
within the account that delivered it) and answers at once; slow work (media) is left to the worker.

A webhook acts only for the account it authenticated as: Twilio's signature is the platform's, so its `To` must
be a platform number; a Flowroute token names one shop, so its `to` must be one of that shop's Flowroute numbers.
Anything else is logged and answered 200 (a provider resends on anything else) with nothing stored or sent.
Flowroute resends a callback not answered 200 (four times), so its callbacks answer 200, duplicates included.

These run for every text a customer sends, so they skip what costs more than it gives here (see bench/README.md):
the context is read off the app rather than through a dependency, Twilio's urlencoded form is parsed by the
standard library rather than by the multipart parser behind `request.form()`, and the database work goes through
`Database.run` (in the event loop on SQLite, in the thread pool on PostgreSQL). Payloads are checked by the
provider adapters (`parse_inbound`, `parse_status`)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from repairtext.adapters.db.models import Shop
from repairtext.adapters.providers import flowroute, twilio
from repairtext.adapters.providers.base import PayloadRefused
from repairtext.adapters.providers.twilio_signature import is_valid_signature
from repairtext.bootstrap import Context
from repairtext.domain.errors import NotFound
from repairtext.services import receipts
from repairtext.services.inbound import do_receive

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=True)
log = logging.getLogger("repairtext.webhooks")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_BODY = 1 << 20  # api.md: webhook bodies over 1 MiB are refused (media come by URL)
MAX_FIELDS = 200  # Twilio posts about 20, plus 3 per attachment (10 at most)


def _context(request: Request) -> Context:
    # Not a FastAPI dependency: solving one costs more per request than this whole lookup.
    return request.app.state.ctx


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, "the request body is over 1 MiB")
    return bytes(body)


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    """Twilio's application/x-www-form-urlencoded body, every pair in order (a name may repeat). Decoded like
    Starlette's form parser (bytes as latin-1, then %-escapes as UTF-8), so the signature sees the same values."""
    try:
        return parse_qsl((await _body(request)).decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise HTTPException(400, f"the form has more than {MAX_FIELDS} fields") from None


async def _signed_twilio_form(request: Request, ctx: Context) -> dict[str, str]:
    token = ctx.settings.twilio_auth_token
    params = await _form_pairs(request)
    # Twilio signs the URL it called: the public one, not what a proxy in front of us passes on.
    url = ctx.settings.public_url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token or not is_valid_signature(token, url, params, request.headers.get("x-twilio-signature")):
        raise HTTPException(403, "missing or invalid X-Twilio-Signature")
    return dict(params)


def _parsed(parse, payload):
    """A provider adapter's parse_inbound / parse_status; a payload it refuses answers 400 naming the field."""
    try:
        return parse(payload)
    except PayloadRefused as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    ctx = _context(request)
    text = _parsed(twilio.parse_inbound, await _signed_twilio_form(request, ctx))
    try:
        await ctx.db.run(do_receive, ctx, text)
    except NotFound as exc:
        log.warning("inbound Twilio text %s dropped: %s", text.provider_id, exc)  # not our number: nothing to keep
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204)
async def twilio_status(request: Request) -> Response:
    ctx = _context(request)
    report = _parsed(twilio.parse_status, await _signed_twilio_form(request, ctx))
    await ctx.db.run(receipts.do_record_receipt, ctx, "twilio", report.provider_id, report.status, report.error_code)
    return Response(status_code=204)


def _shop_by_token(ctx, token: str) -> int:
    with ctx.db.reading() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.flowroute_token == token))
    if shop_id is None:
        raise HTTPException(404, "unknown webhook")
    return shop_id


async def _json(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:  # also bytes that are not UTF-8
        raise HTTPException(400, "the body is not JSON") from None


@router.post("/flowroute/{token}/inbound")
async def flowroute_inbound(token: str, request: Request) -> Response:
    ctx = _context(request)
    shop_id = await ctx.db.run(_shop_by_token, ctx, token)
    text = _parsed(flowroute.parse_inbound, await _json(request))
    try:
        await ctx.db.run(do_receive, ctx, text, shop_id)
    except NotFound as exc:
        log.warning("inbound Flowroute text %s for shop %s dropped: %s", text.provider_id, shop_id, exc)
    return Response(status_code=200)


@router.post("/flowroute/{token}/status")
async def flowroute_status(token: str, request: Request) -> Response:
    ctx = _context(request)
    shop_id = await ctx.db.run(_shop_by_token, ctx, token)
    report = _parsed(flowroute.parse_status, await _json(request))
    await ctx.db.run(receipts.do_record_receipt, ctx, "flowroute", report.provider_id, report.status,
                     report.error_code, shop_id)
    return Response(status_code=200)

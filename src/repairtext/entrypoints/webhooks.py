"""What providers call. Each webhook authenticates, stores durably (deduplicated by the provider's message id
within the account that delivered it) and answers at once; slow work (media) is left to the worker.

A webhook acts only for the account it authenticated as: Twilio's signature is the platform's, so its `To` must
be a platform number; a Flowroute token names one shop, so its `to` must be one of that shop's Flowroute numbers.
Anything else is logged and answered 200 (a provider resends on anything else) with nothing stored or sent.
Flowroute resends a callback not answered 200 (four times), so its callbacks answer 200, duplicates included."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from sqlalchemy import select

from repairtext.adapters.db.models import Shop
from repairtext.adapters.providers import flowroute, twilio
from repairtext.adapters.providers.base import PayloadRefused
from repairtext.adapters.providers.twilio_signature import is_valid_signature
from repairtext.domain.errors import NotFound
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.services import receipts
from repairtext.services.inbound import do_receive

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=True)
log = logging.getLogger("repairtext.webhooks")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def _signed_twilio_form(request: Request, ctx) -> dict[str, str]:
    token = ctx.settings.twilio_auth_token
    form = await request.form()
    params = [(k, str(v)) for k, v in form.multi_items()]
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
async def twilio_inbound(request: Request, ctx: ContextDep) -> Response:
    text = _parsed(twilio.parse_inbound, await _signed_twilio_form(request, ctx))
    try:
        await run_in_threadpool(do_receive, ctx, text)
    except NotFound as exc:
        log.warning("inbound Twilio text %s dropped: %s", text.provider_id, exc)  # not our number: nothing to keep
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204)
async def twilio_status(request: Request, ctx: ContextDep) -> Response:
    report = _parsed(twilio.parse_status, await _signed_twilio_form(request, ctx))
    await run_in_threadpool(receipts.do_record_receipt, ctx, "twilio", report.provider_id, report.status,
                            report.error_code)
    return Response(status_code=204)


def _shop_by_token(ctx, token: str) -> int:
    with ctx.db.transaction() as session:
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
async def flowroute_inbound(token: str, request: Request, ctx: ContextDep) -> Response:
    shop_id = await run_in_threadpool(_shop_by_token, ctx, token)
    text = _parsed(flowroute.parse_inbound, await _json(request))
    try:
        await run_in_threadpool(do_receive, ctx, text, shop_id)
    except NotFound as exc:
        log.warning("inbound Flowroute text %s for shop %s dropped: %s", text.provider_id, shop_id, exc)
    return Response(status_code=200)


@router.post("/flowroute/{token}/status")
async def flowroute_status(token: str, request: Request, ctx: ContextDep) -> Response:
    shop_id = await run_in_threadpool(_shop_by_token, ctx, token)
    report = _parsed(flowroute.parse_status, await _json(request))
    await run_in_threadpool(receipts.do_record_receipt, ctx, "flowroute", report.provider_id, report.status,
                            report.error_code, shop_id)
    return Response(status_code=200)

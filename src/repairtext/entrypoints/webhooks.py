"""What providers call. Each webhook authenticates, stores durably (deduplicated by the provider's message id)
and answers at once; slow work (media) is left to the worker.

These run for every text a customer sends, so they skip what costs more than it gives here (see bench/README.md):
the context is read off the app rather than through a dependency, Twilio's urlencoded form is parsed by the
standard library rather than by the multipart parser behind `request.form()`, and the database work goes through
`Database.run` (in the event loop on SQLite, in the thread pool on PostgreSQL)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from repairtext.adapters.db.models import Shop
from repairtext.adapters.providers.twilio_signature import is_valid_signature
from repairtext.domain.errors import NotFound
from repairtext.bootstrap import Context
from repairtext.services import receipts
from repairtext.services.inbound import InboundText, do_receive

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


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    ctx = _context(request)
    form = await _signed_twilio_form(request, ctx)
    try:
        count = min(int(form.get("NumMedia") or 0), 10)
    except ValueError:
        count = 0
    media = [{"url": form[f"MediaUrl{i}"], "content_type": form.get(f"MediaContentType{i}")}
             for i in range(count) if form.get(f"MediaUrl{i}")]
    text = InboundText(provider="twilio", provider_id=form.get("MessageSid") or form.get("SmsSid", ""),
                       from_number=form.get("From", ""), to_number=form.get("To", ""), body=form.get("Body", ""),
                       media=media, opt_out_type=form.get("OptOutType"), from_country=form.get("FromCountry"))
    if not text.provider_id:
        raise HTTPException(400, "MessageSid is missing")
    try:
        await ctx.db.run(do_receive, ctx, text)
    except NotFound as exc:
        log.warning("inbound Twilio text %s dropped: %s", text.provider_id, exc)  # not our number: nothing to keep
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204)
async def twilio_status(request: Request) -> Response:
    ctx = _context(request)
    form = await _signed_twilio_form(request, ctx)
    sid, status = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise HTTPException(400, "MessageSid and MessageStatus are required")
    await ctx.db.run(receipts.do_record_receipt, ctx, "twilio", sid, status, form.get("ErrorCode") or None)
    return Response(status_code=204)


def _shop_by_token(ctx, token: str) -> int:
    with ctx.db.transaction() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.flowroute_token == token))
    if shop_id is None:
        raise HTTPException(404, "unknown webhook")
    return shop_id


async def _json(request: Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise HTTPException(400, "expected a JSON:API document with 'data'")
    return data


@router.post("/flowroute/{token}/inbound")
async def flowroute_inbound(token: str, request: Request) -> Response:
    ctx = _context(request)
    shop_id = await ctx.db.run(_shop_by_token, ctx, token)
    doc = await _json(request)
    data, attrs = doc["data"], doc["data"].get("attributes") or {}
    wanted = {m.get("id") for m in ((data.get("relationships") or {}).get("media") or {}).get("data") or []}
    media = [{"url": (i.get("attributes") or {}).get("url"), "content_type": (i.get("attributes") or {}).get("mime_type"),
              "file_name": (i.get("attributes") or {}).get("file_name")}
             for i in doc.get("included") or [] if i.get("type") == "media" and (not wanted or i.get("id") in wanted)]
    text = InboundText(provider="flowroute", provider_id=str(data.get("id") or ""), from_number=str(attrs.get("from") or ""),
                       to_number=str(attrs.get("to") or ""), body=attrs.get("body") or "",
                       media=[m for m in media if m["url"]])
    if not text.provider_id:
        raise HTTPException(400, "data.id is missing")
    await ctx.db.run(do_receive, ctx, text, shop_id)
    return Response(status_code=204)


@router.post("/flowroute/{token}/status")
async def flowroute_status(token: str, request: Request) -> Response:
    ctx = _context(request)
    shop_id = await ctx.db.run(_shop_by_token, ctx, token)
    doc = await _json(request)
    attrs = doc["data"].get("attributes") or {}
    if not doc["data"].get("id") or not attrs.get("status"):
        raise HTTPException(400, "data.id and data.attributes.status are required")
    code = attrs.get("status_code")
    await ctx.db.run(receipts.do_record_receipt, ctx, "flowroute", str(doc["data"]["id"]),
                            str(attrs["status"]), str(code) if code not in (None, "") else None, shop_id)
    return Response(status_code=204)

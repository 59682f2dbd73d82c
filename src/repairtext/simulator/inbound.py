"""A customer texts the shop: the simulator makes the provider's inbound webhook, media and all.

Attachments are kept in the state and served back from the simulator (Twilio's need the account's Basic auth,
Flowroute's need none); `fail_first` makes one answer 404 that many times first, as Twilio media often do for a
second after the webhook. Twilio's advanced opt-out is played too: STOP blocks the pair (21610), START lifts it.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import secrets
import time
from typing import Any

from repairtext.simulator import carrier, flowroute_wire, twilio_wire
from repairtext.simulator.context import ControlError, Simulator
from repairtext.simulator.records import FLOWROUTE, TWILIO, CallbackRecord, MediaItem, SimMessage, new_id, utcnow


async def twilio_inbound(sim: Simulator, request: dict, base: str) -> dict:
    from_, to, body = _text(request, "from"), _text(request, "to"), request.get("body") or ""
    for name, value in (("from", from_), ("to", to)):
        if not carrier.E164.match(value):
            raise ControlError(f"'{name}' must be an E.164 number, got {value!r}")
    number = sim.state.twilio_number(to)
    if number is None or not number.sms_url:
        raise ControlError(f"{to} has no SMS URL; register it with POST /_sim/twilio/numbers", 404)
    attachments = _attachments(request)
    sid = request.get("message_sid") or new_id("MM" if attachments else "SM")
    account = sim.config.twilio_account_sid
    media = []
    for content_type, data, fail_first in attachments:
        media_sid = new_id("ME")
        sim.state.add_media(MediaItem(TWILIO, media_sid, sid, content_type, data, media_sid, fail_first))
        media.append((f"{base}{twilio_wire.messages_uri(account)}/{sid}/Media/{media_sid}", content_type))
    _keep(sim, TWILIO, sid, account, from_, to, body, [url for url, _ in media], base)
    keyword = carrier.opt_out_type(body)
    if keyword in ("STOP", "START"):
        sim.state.set_opted_out(to, from_, keyword == "STOP")
    params = twilio_wire.inbound_params(
        message_sid=sid,
        account_sid=account,
        from_=from_,
        to=to,
        body=body,
        media=media,
        from_country=request.get("from_country") or carrier.country_of(from_),
        from_state=request.get("from_state") or "",
        from_city=request.get("from_city") or "",
        from_zip=request.get("from_zip") or "",
    )
    started = time.perf_counter()
    record = await sim.dispatcher.post_twilio_form(
        kind="inbound", message_id=sid, status=None, url=number.sms_url, params=params, retry=False
    )
    return _outcome(sid, record, started, [url for url, _ in media])


async def flowroute_inbound(sim: Simulator, request: dict, base: str) -> dict:
    from_, to = _text(request, "from").lstrip("+"), _text(request, "to").lstrip("+")
    if not flowroute_wire.NUMBER.match(to):
        raise ControlError(f"'to' must be an 11-digit number, got {to!r}")
    if not carrier.E164.match("+" + from_):
        raise ControlError(f"'from' must be a phone number in international form, got {from_!r}")
    account = sim.state.flowroute_account_for_number(to)
    if account is None or not account.sms_callback_url:
        raise ControlError(f"{to} belongs to no account with an SMS callback; use POST /_sim/flowroute/accounts", 404)
    message_id = request.get("id") or new_id("mdr2-")
    media: list[dict[str, Any]] = []
    for index, (content_type, data, fail_first) in enumerate(_attachments(request)):
        media_id = secrets.token_hex(16)
        file_name = f"image{index:06d}{mimetypes.guess_extension(content_type) or '.bin'}"
        sim.state.add_media(MediaItem(FLOWROUTE, media_id, message_id, content_type, data, file_name, fail_first))
        url = f"{base}/flowroute-media/{media_id}/{file_name}"
        media.append(dict(id=media_id, file_name=file_name, file_size=len(data), mime_type=content_type, url=url))
    _keep(sim, FLOWROUTE, message_id, account.access_key, from_, to, request.get("body") or "",
          [m["url"] for m in media], base)
    document = flowroute_wire.inbound_payload(
        message_id=message_id, from_=from_, to=to, body=request.get("body"), media=media,
        callback_url=account.sms_callback_url,
    )
    started = time.perf_counter()
    record = await sim.dispatcher.post_flowroute_json(
        kind="inbound", message_id=message_id, status=None, url=account.sms_callback_url, document=document, retry=False
    )
    return _outcome(message_id, record, started, [m["url"] for m in media])


def _keep(sim: Simulator, provider: str, id_: str, account: str, from_: str, to: str, body: str,
          media_urls: list[str], base: str) -> None:
    """The received message, as the provider keeps it: fetchable (GET Messages/{sid}.json, GET
    /v2.1/messages/{id}) and listed, like any Message."""
    now = utcnow()
    sim.state.add_message(SimMessage(
        provider=provider, id=id_, account=account, from_=from_, to=to, body=body, media_urls=media_urls,
        status_callback=None, num_segments=carrier.count_segments(body), status="received" if provider == TWILIO
        else "delivered", api_base=base, direction="inbound", sent_at=now, created_at=now, updated_at=now))


def _text(request: dict, name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"'{name}' is required")
    return value


def _attachments(request: dict) -> list[tuple[str, bytes, int]]:
    items = request.get("media") or []
    if not isinstance(items, list) or len(items) > 10:
        raise ControlError("'media' must be a list of at most 10 items")
    found = []
    for item in items:
        try:
            data = base64.b64decode(item["data_base64"], validate=True)
            found.append((str(item["content_type"]), data, int(item.get("fail_first", 0))))
        except (KeyError, TypeError, ValueError, binascii.Error):
            detail = "each media item needs content_type, data_base64 (base64) and optionally fail_first"
            raise ControlError(detail) from None
    return found


def _outcome(sid: str, record: CallbackRecord, started: float, media_urls: list[str]) -> dict:
    return {
        "sid": sid,
        "status_code": record.http_status,
        "response_body": record.response_body,
        "error": record.error,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
        "media_urls": media_urls,
    }

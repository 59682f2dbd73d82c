"""Flowroute's Messaging API v2.1 as repairtext uses it: send, look up one MDR, list MDRs; plus inbound media.

Every API route needs Basic auth with a registered account's access key and secret key (POST
/_sim/flowroute/accounts). Media links need no auth, like Flowroute's temporary media URLs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from repairtext.simulator import carrier, faults, flowroute_wire
from repairtext.simulator.auth import basic_credentials, credentials_match
from repairtext.simulator.context import api_base, simulator
from repairtext.simulator.delivery import deliver
from repairtext.simulator.flowroute_wire import JSON_API, FlowrouteError, error_response
from repairtext.simulator.records import FLOWROUTE, FlowrouteAccount, SimMessage, new_id


def _account(request: Request) -> FlowrouteAccount | Response:
    given = basic_credentials(request)
    account = simulator(request).state.flowroute_account(given[0]) if given else None
    if account is None or not credentials_match(given, account.access_key, account.secret_key):
        return error_response(FlowrouteError(401, "Unauthorized", "Invalid access key or secret key"))
    return account


def _fault_error(status, code, message, headers) -> Response:
    return error_response(FlowrouteError(status, message, message), headers)


async def send_message(request: Request) -> Response:
    account = _account(request)
    if isinstance(account, Response):
        return account
    sim = simulator(request)
    fault = sim.state.take_fault(FLOWROUTE)
    if refusal := await faults.refuse(fault, _fault_error):
        return refusal
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON_API:
        return error_response(FlowrouteError(415, "Unsupported Media Type", f"Content-Type must be {JSON_API}"))
    try:
        attrs = flowroute_wire.check_send(json.loads(await request.body()), account)
    except ValueError:
        return error_response(FlowrouteError(400, "Bad Request", "The body is not valid JSON"))
    except FlowrouteError as error:
        return error_response(error)
    body = attrs.get("body") or ""
    message = SimMessage(
        provider=FLOWROUTE,
        id=new_id("mdr2-"),
        account=account.access_key,
        from_=attrs["from"],
        to=attrs["to"],
        body=body,
        media_urls=list(attrs.get("media_urls") or []),
        status_callback=attrs.get("dlr_callback") or account.dlr_callback_url,
        num_segments=carrier.count_segments(body),
        status="queued",
        api_base=api_base(request),
    )
    sim.state.add_message(message)
    if sim.config.auto_callbacks:
        sim.dispatcher.spawn(deliver(sim.dispatcher, message.id))
    await faults.after_accepting(fault)
    document = {"data": {"id": message.id, "type": "message", "links": {"self": _self(request, message.id)}}}
    return JSONResponse(document, status_code=202, media_type=JSON_API)


async def fetch_message(request: Request) -> Response:
    account = _account(request)
    if isinstance(account, Response):
        return account
    if refusal := await _read_fault(request, "fetch"):
        return refusal
    message = simulator(request).state.message(request.path_params["record_id"])
    if message is None or message.provider != FLOWROUTE or message.account != account.access_key:
        return error_response(FlowrouteError(404, "Not Found", "No message with that id"))
    return JSONResponse({"data": flowroute_wire.message_record(message, api_base(request))}, media_type=JSON_API)


async def list_messages(request: Request) -> Response:
    """MDRs of this account, both ways, from start_date (required) to end_date; a date alone for end_date covers
    that whole day (UTC). Oldest first, paged by limit (at most 200) and offset."""
    account = _account(request)
    if isinstance(account, Response):
        return account
    if refusal := await _read_fault(request, "list"):
        return refusal
    query = request.query_params
    try:
        start = _moment(query["start_date"], end_of_day=False)
        end = _moment(query["end_date"], end_of_day=True) if query.get("end_date") else None
        limit = min(int(query.get("limit", 200)), 200)
        offset = int(query.get("offset", 0))
        if limit <= 0 or offset < 0:
            raise ValueError
    except (KeyError, ValueError):
        detail = "start_date (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss.SSZ) is required; limit > 0; offset >= 0"
        return error_response(FlowrouteError(422, "Unprocessable Entity", detail))
    found = [
        m
        for m in simulator(request).state.messages(FLOWROUTE, inbound=True)
        if m.account == account.access_key and m.created_at >= start and (end is None or m.created_at <= end)
    ]
    page = found[offset : offset + limit]
    base = api_base(request)
    next_link = None
    if offset + limit < len(found):
        next_link = f"{base}/v2.1/messages?{_with(query, offset=offset + limit)}"
    document = {"data": [flowroute_wire.message_record(m, base) for m in page], "links": {"next": next_link}}
    return JSONResponse(document, media_type=JSON_API)


async def inbound_media(request: Request) -> Response:
    item, ready = simulator(request).state.take_media(request.path_params["media_id"])
    if item is None or item.provider != FLOWROUTE or not ready:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(item.data, headers={"Content-Type": item.content_type})


async def _read_fault(request: Request, on: str) -> Response | None:
    fault = simulator(request).state.take_fault(FLOWROUTE, on)
    refusal = await faults.refuse(fault, _fault_error)
    await faults.after_accepting(None if refusal else fault)
    return refusal


def _self(request: Request, record_id: str) -> str:
    return f"{api_base(request)}/v2.1/messages/{record_id}"


def _moment(value: str, *, end_of_day: bool) -> datetime:
    if len(value) == 10:
        day = datetime.fromisoformat(value).date()
        return datetime.combine(day, time.max if end_of_day else time.min, UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _with(query, **changes) -> str:
    return urlencode({**dict(query), **{k: str(v) for k, v in changes.items()}})


routes = [
    Route("/v2.1/messages", send_message, methods=["POST"]),
    Route("/v2.1/messages", list_messages, methods=["GET"]),
    Route("/v2.1/messages/{record_id}", fetch_message, methods=["GET"]),
    Route("/flowroute-media/{media_id}/{file_name}", inbound_media, methods=["GET"]),
]

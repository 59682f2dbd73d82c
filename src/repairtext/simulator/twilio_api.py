"""Twilio's Programmable Messaging REST API, as far as repairtext uses it: send, fetch, list, and inbound media.

Every route needs the account's Basic auth (AccountSid, AuthToken) and answers errors in Twilio's JSON shape.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from repairtext.simulator import carrier, faults, twilio_wire
from repairtext.simulator.auth import basic_credentials, credentials_match
from repairtext.simulator.context import api_base, simulator
from repairtext.simulator.delivery import deliver
from repairtext.simulator.records import TWILIO, SimMessage, new_id
from repairtext.simulator.twilio_wire import TwilioError, error_response

PREFIX = f"/{twilio_wire.API_VERSION}/Accounts/{{account_sid}}"
_FAULT_CODES = {429: 20429, 500: 20500, 503: 20503}


def _denied(request: Request) -> Response | None:
    config = simulator(request).config
    if not credentials_match(basic_credentials(request), config.twilio_account_sid, config.twilio_auth_token):
        error = TwilioError(20003, "Authentication Error - invalid username or password", 401)
        return error_response(error, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
    if request.path_params["account_sid"] != config.twilio_account_sid:
        return _not_found(request.url.path)
    return None


def _not_found(path: str) -> Response:
    return error_response(TwilioError(20404, f"The requested resource {path} was not found", 404))


def _fault_error(status, code, message, headers) -> Response:
    return error_response(TwilioError(code or _FAULT_CODES.get(status, 20500), message, status), headers)


async def send_message(request: Request) -> Response:
    if denied := _denied(request):
        return denied
    sim = simulator(request)
    fault = sim.state.take_fault(TWILIO)
    if refusal := await faults.refuse(fault, _fault_error):
        return refusal
    form = await request.form()
    try:
        twilio_wire.check_send(form, sim.state)
    except TwilioError as error:
        return error_response(error)
    media = form.getlist("MediaUrl")
    body = form.get("Body", "")
    message = SimMessage(
        provider=TWILIO,
        id=new_id("MM" if media else "SM"),
        account=sim.config.twilio_account_sid,
        from_=form["From"],
        to=form["To"],
        body=body,
        media_urls=list(media),
        status_callback=form.get("StatusCallback") or None,
        # Twilio bills an MMS as one message however long its text.
        num_segments=1 if media else carrier.count_segments(body),
        status="queued",
        api_base=api_base(request),
    )
    sim.state.add_message(message)
    if sim.config.auto_callbacks:
        sim.dispatcher.spawn(deliver(sim.dispatcher, message.id))
    await faults.after_accepting(fault)
    return JSONResponse(twilio_wire.message_resource(message), status_code=201)


async def fetch_message(request: Request) -> Response:
    if denied := _denied(request):
        return denied
    message = simulator(request).state.message(request.path_params["message_sid"])
    if message is None or message.provider != TWILIO:
        return _not_found(request.url.path)
    return JSONResponse(twilio_wire.message_resource(message))


async def list_messages(request: Request) -> Response:
    """Newest first, filtered by To, From and DateSent / DateSent> / DateSent< (YYYY-MM-DD, UTC, inclusive)."""
    if denied := _denied(request):
        return denied
    query = request.query_params
    try:
        on, after, before = (_day(query.get(name)) for name in ("DateSent", "DateSent>", "DateSent<"))
        page_size = max(1, min(int(query.get("PageSize", 50)), 1000))
        page = max(0, int(query.get("Page", 0)))
    except ValueError:
        return error_response(TwilioError(20001, "Invalid query parameter"))
    found = [
        m
        for m in reversed(simulator(request).state.messages(TWILIO))
        if query.get("To") in (None, m.to)
        and query.get("From") in (None, m.from_)
        and (on is None or m.created_at.date() == on)
        and (after is None or m.created_at.date() >= after)
        and (before is None or m.created_at.date() <= before)
    ]
    start = page * page_size
    chunk = found[start : start + page_size]
    uri = f"{twilio_wire.messages_uri(simulator(request).config.twilio_account_sid)}.json"
    return JSONResponse(
        {
            "messages": [twilio_wire.message_resource(m) for m in chunk],
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(len(chunk) - 1, 0),
            "uri": f"{uri}?PageSize={page_size}&Page={page}",
            "first_page_uri": f"{uri}?PageSize={page_size}&Page=0",
            "previous_page_uri": f"{uri}?PageSize={page_size}&Page={page - 1}" if page else None,
            "next_page_uri": f"{uri}?PageSize={page_size}&Page={page + 1}" if start + page_size < len(found) else None,
        }
    )


async def inbound_media(request: Request) -> Response:
    """The bytes of an inbound attachment; 404 while it is "not ready yet" (fail_first), like Twilio right after
    the webhook."""
    if denied := _denied(request):
        return denied
    item, ready = simulator(request).state.take_media(request.path_params["media_sid"])
    if item is None or item.provider != TWILIO or item.message_id != request.path_params["message_sid"] or not ready:
        return _not_found(request.url.path)
    # Exactly the declared type: Starlette would append a charset to text/* (vCards) if given media_type.
    return Response(item.data, headers={"Content-Type": item.content_type})


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


routes = [
    Route(f"{PREFIX}/Messages.json", send_message, methods=["POST"]),
    Route(f"{PREFIX}/Messages.json", faults.answered_late(TWILIO, list_messages), methods=["GET"]),
    Route(f"{PREFIX}/Messages/{{message_sid}}.json", fetch_message, methods=["GET"]),
    Route(f"{PREFIX}/Messages/{{message_sid}}/Media/{{media_sid}}", inbound_media, methods=["GET"]),
]

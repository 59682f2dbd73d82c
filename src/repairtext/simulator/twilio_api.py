"""Twilio's Programmable Messaging REST API, as far as repairtext uses it: send, fetch, list, and inbound media.

Every route needs the account's Basic auth (AccountSid, AuthToken) and answers errors in Twilio's JSON shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

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
    media = twilio_wire.form_texts(form, "MediaUrl")
    body = twilio_wire.form_text(form, "Body")
    message = SimMessage(
        provider=TWILIO,
        id=new_id("MM" if media else "SM"),
        account=sim.config.twilio_account_sid,
        from_=twilio_wire.form_text(form, "From"),
        to=twilio_wire.form_text(form, "To"),
        body=body,
        media_urls=media,
        status_callback=twilio_wire.form_text(form, "StatusCallback") or None,
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
    fault = simulator(request).state.take_fault(TWILIO, "fetch")
    if refusal := await faults.refuse(fault, _fault_error):
        return refusal
    await faults.after_accepting(fault)
    message = simulator(request).state.message(request.path_params["message_sid"])
    if message is None or message.provider != TWILIO:
        return _not_found(request.url.path)
    return JSONResponse(twilio_wire.message_resource(message))


async def list_messages(request: Request) -> Response:
    """Newest first (inbound too), filtered by To, From and DateSent / DateSent> / DateSent< on date_sent, which
    is null while a message is queued. Paged like Twilio: next_page_uri keeps the filters and carries a PageToken
    (the last sid seen), so messages created meanwhile never shift a page."""
    if denied := _denied(request):
        return denied
    sim, query = simulator(request), request.query_params
    fault = sim.state.take_fault(TWILIO, "list")
    if refusal := await faults.refuse(fault, _fault_error):
        return refusal
    try:
        on, after, before = (_when(query.get(name)) for name in ("DateSent", "DateSent>", "DateSent<"))
        page_size = int(query.get("PageSize", 50))
        page = int(query.get("Page", 0))
        if not 1 <= page_size <= 1000 or page < 0:
            raise ValueError
    except ValueError:
        return error_response(TwilioError(20001, "Invalid query parameter"))
    found = [
        m
        for m in reversed(sim.state.messages(TWILIO, inbound=True))
        if query.get("To") in (None, m.to)
        and query.get("From") in (None, m.from_)
        and (on is None or _sent_on(m, on, "="))
        and (after is None or _sent_on(m, after, ">"))
        and (before is None or _sent_on(m, before, "<"))
    ]
    token = query.get("PageToken", "")
    start = next((i + 1 for i, m in enumerate(found) if "PA" + m.id == token), 0) if token else 0
    chunk = found[start : start + page_size]
    filters = {k: v for k, v in query.items() if k in ("To", "From", "DateSent", "DateSent>", "DateSent<")}
    uri = f"{twilio_wire.messages_uri(sim.config.twilio_account_sid)}.json"

    def page_uri(number: int, after_sid: str | None = None) -> str:
        cursor = {"PageToken": "PA" + after_sid} if after_sid else {}
        return f"{uri}?{urlencode({**filters, 'PageSize': page_size, 'Page': number, **cursor})}"

    more = start + page_size < len(found)
    document = {
        "messages": [twilio_wire.message_resource(m) for m in chunk],
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "previous_page_uri": page_uri(page - 1) if page else None,
        "next_page_uri": page_uri(page + 1, chunk[-1].id) if more else None,
    }
    await faults.after_accepting(fault)
    return JSONResponse(document)


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


def _when(value: str | None) -> date | datetime | None:
    """The forms the official SDK sends: YYYY-MM-DD, or an ISO datetime (it writes %Y-%m-%dT%H:%M:%SZ)."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sent_on(message, bound: date | datetime, op: str) -> bool:
    if message.sent_at is None:
        return False  # queued: no date_sent yet
    if op == "=" or not isinstance(bound, datetime):
        value, bound = message.sent_at.date(), bound.date() if isinstance(bound, datetime) else bound
    else:
        value = message.sent_at
    return value == bound if op == "=" else value >= bound if op == ">" else value <= bound


routes = [
    Route(f"{PREFIX}/Messages.json", send_message, methods=["POST"]),
    Route(f"{PREFIX}/Messages.json", faults.answered_late(TWILIO, list_messages), methods=["GET"]),
    Route(f"{PREFIX}/Messages/{{message_sid}}.json", fetch_message, methods=["GET"]),
    Route(f"{PREFIX}/Messages/{{message_sid}}/Media/{{media_sid}}", inbound_media, methods=["GET"]),
]

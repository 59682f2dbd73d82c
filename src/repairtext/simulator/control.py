"""The control API under /_sim/ (documented in the package docstring): how tests and the demo drive the fakes.

Requests and answers are plain JSON; a request the simulator cannot play gets 400 (or 404) {"error": "…"}.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from repairtext.simulator import carrier, faults, inbound
from repairtext.simulator.context import ControlError, api_base, simulator
from repairtext.simulator.delivery import report_status
from repairtext.simulator.records import PROVIDERS, Fault, FlowrouteAccount, TwilioNumber


def _error(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict:
    try:
        document = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ControlError("the body must be JSON") from None
    if not isinstance(document, dict):
        raise ControlError("the body must be a JSON object")
    return document


def _handles_errors(endpoint):
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ControlError as error:
            return _error(str(error), error.status)
        except (KeyError, TypeError, ValueError) as error:
            return _error(f"bad request: {error!r}")

    return wrapped


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "twilio_account_sid": simulator(request).config.twilio_account_sid})


async def reset(request: Request) -> Response:
    simulator(request).state.reset()
    return JSONResponse({"ok": True})


async def list_messages(request: Request) -> Response:
    provider = request.query_params.get("provider")
    if provider is not None and provider not in PROVIDERS:
        return _error(f"provider must be one of {PROVIDERS}")
    return JSONResponse([m.public() for m in simulator(request).state.messages(provider)])


async def list_callbacks(request: Request) -> Response:
    wanted = request.query_params
    return JSONResponse(
        [
            c.public()
            for c in simulator(request).state.callbacks()
            if wanted.get("message_id") in (None, c.message_id) and wanted.get("kind") in (None, c.kind)
        ]
    )


async def add_twilio_number(request: Request) -> Response:
    body = await _json(request)
    if not carrier.E164.match(str(body.get("number"))):
        return _error("number must be E.164, e.g. +12065550199")
    if body.get("line_type", "mobile") not in ("mobile", "landline"):
        return _error("line_type must be 'mobile' or 'landline'")
    number = TwilioNumber(body["number"], body.get("sms_url"), body.get("line_type", "mobile"))
    simulator(request).state.set_twilio_number(number)
    return JSONResponse({"number": number.number, "sms_url": number.sms_url, "line_type": number.line_type})


async def add_flowroute_account(request: Request) -> Response:
    body = await _json(request)
    numbers = frozenset(str(n).lstrip("+") for n in body.get("numbers", []))
    account = FlowrouteAccount(
        body["access_key"], body["secret_key"], numbers, body.get("sms_callback_url"), body.get("dlr_callback_url")
    )
    simulator(request).state.set_flowroute_account(account)
    return JSONResponse({"access_key": account.access_key, "numbers": sorted(numbers)})


async def add_optout(request: Request) -> Response:
    body = await _json(request)
    simulator(request).state.set_opted_out(body["from"], body["to"], bool(body.get("opted_out", True)))
    return JSONResponse({"ok": True})


async def twilio_inbound(request: Request) -> Response:
    return JSONResponse(await inbound.twilio_inbound(simulator(request), await _json(request), api_base(request)))


async def flowroute_inbound(request: Request) -> Response:
    return JSONResponse(await inbound.flowroute_inbound(simulator(request), await _json(request), api_base(request)))


async def add_fault(request: Request) -> Response:
    body = await _json(request)
    if body.get("provider") not in PROVIDERS or body.get("kind") not in faults.KINDS:
        return _error(f"provider must be one of {PROVIDERS} and kind one of {faults.KINDS}")
    on = faults.FIXED_ON.get(body["kind"], body.get("on", "send"))
    if on not in faults.ON:
        return _error(f"on must be one of {faults.ON}")
    retry_after = body.get("retry_after")
    fault = Fault(
        provider=body["provider"],
        kind=body["kind"],
        count=int(body.get("count", 1)),
        status=int(body["status"]) if body.get("status") is not None else None,
        code=int(body["code"]) if body.get("code") is not None else None,
        retry_after=retry_after if isinstance(retry_after, str) or retry_after is None else float(retry_after),
        delay=float(body.get("delay", 0)),
        on=on,
        skip=int(body.get("skip", 0)),
    )
    simulator(request).state.add_fault(fault)
    return JSONResponse({"ok": True})


async def send_status(request: Request) -> Response:
    """One more status callback for a message, whatever its current status (duplicates, out-of-order tests)."""
    sim, message_id = simulator(request), request.path_params["message_id"]
    body = await _json(request)
    if sim.state.message(message_id) is None:
        return _error(f"no message {message_id}", 404)
    error_code = int(body["error_code"]) if body.get("error_code") is not None else None
    record = await report_status(sim.dispatcher, message_id, body["status"], error_code)
    message = sim.state.message(message_id)
    if message is None:  # forgotten while its callback went (a reset)
        return _error(f"no message {message_id}", 404)
    return JSONResponse(
        {"message": message.public(), "callback": record.public() if record else None},
    )


routes = [
    Route("/_sim/health", health, methods=["GET"]),
    Route("/_sim/reset", reset, methods=["POST"]),
    Route("/_sim/messages", list_messages, methods=["GET"]),
    Route("/_sim/callbacks", list_callbacks, methods=["GET"]),
    Route("/_sim/twilio/numbers", _handles_errors(add_twilio_number), methods=["POST"]),
    Route("/_sim/flowroute/accounts", _handles_errors(add_flowroute_account), methods=["POST"]),
    Route("/_sim/optouts", _handles_errors(add_optout), methods=["POST"]),
    Route("/_sim/twilio/inbound", _handles_errors(twilio_inbound), methods=["POST"]),
    Route("/_sim/flowroute/inbound", _handles_errors(flowroute_inbound), methods=["POST"]),
    Route("/_sim/faults", _handles_errors(add_fault), methods=["POST"]),
    Route("/_sim/messages/{message_id}/status", _handles_errors(send_status), methods=["POST"]),
]

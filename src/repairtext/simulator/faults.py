"""Injected send failures (POST /_sim/faults): what a flaky provider does to a sender, on demand.

Each provider answers in its own error shape, so the routes pass in `make_error(status, code, message)`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from repairtext.simulator.context import simulator
from repairtext.simulator.records import LOOKUP_FAULT, Fault

KINDS = ("http_status", "timeout_before_accept", "accept_then_timeout", "twilio_error", "drop_callbacks", LOOKUP_FAULT,
         "undelivered")
# Which requests a fault applies to; drop_callbacks always to the status callbacks / DLRs the simulator posts,
# slow_lookup always to Twilio's message list (answered late rather than refused), undelivered always to the
# carrier's hand-over of an accepted message (delivery.py).
ON = ("send", "list", "fetch", "callback", "slow_list", "delivery")
FIXED_ON = {"drop_callbacks": "callback", LOOKUP_FAULT: "slow_list", "undelivered": "delivery"}

ErrorMaker = Callable[[int, "int | None", str, "dict[str, str] | None"], Response]

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


async def refuse(fault: Fault | None, make_error: ErrorMaker) -> Response | None:
    """The answer that replaces accepting the message, or None when the message is to be accepted."""
    if fault is None or fault.kind == "accept_then_timeout":
        return None
    if fault.kind == "timeout_before_accept":
        # The sender's read timeout fires while we sleep; a patient sender gets a 503 and nothing was recorded.
        await asyncio.sleep(fault.delay)
        return make_error(503, None, "Service Unavailable", None)
    if fault.kind == "twilio_error":
        code = fault.code or 21211
        return make_error(fault.status or 400, code, f"Error {code}", None)
    status = fault.status or 503
    headers = None
    if isinstance(fault.retry_after, str):
        headers = {"Retry-After": fault.retry_after}  # an HTTP-date, as RFC 9110 also allows
    elif fault.retry_after is not None or status == 429:
        # Retry-After is whole seconds (RFC 9110); round up so a sender never comes back early.
        headers = {"Retry-After": str(math.ceil(fault.retry_after if fault.retry_after is not None else 1))}
    return make_error(status, fault.code, _REASONS.get(status, "Error"), headers)


async def after_accepting(fault: Fault | None) -> None:
    """accept_then_timeout: the message is recorded and will be delivered, but the answer comes too late."""
    if fault is not None and fault.kind == "accept_then_timeout":
        await asyncio.sleep(fault.delay)


def answered_late(provider: str, endpoint: Callable) -> Callable:
    """slow_lookup: a look-up answers what was true when it came in, `delay` seconds late (a slow network, or
    a client paused while the answer waited in its socket: what it reads is stale by then)."""

    async def wrapped(request: Request) -> Response:
        fault = simulator(request).state.take_fault(provider, "slow_list")
        response = await endpoint(request)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        return response

    return wrapped

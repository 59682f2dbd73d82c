"""What happens to a message after the provider accepted it: the carrier hands it on, and the sender hears so.

Twilio reports `sent` then `delivered`; Flowroute a level-1 "message buffered" then "delivered". Each report
updates the stored message (never out of a final status) and, when the sender gave a callback URL, posts it.
"""

from __future__ import annotations

import asyncio

from repairtext.simulator import flowroute_wire, twilio_wire
from repairtext.simulator.callbacks import Dispatcher
from repairtext.simulator.records import FINAL_STATUSES, TWILIO, CallbackRecord

LIFECYCLE = {"twilio": ("sent", "delivered"), "flowroute": ("message buffered", "delivered")}
# The `undelivered` fault: the carrier takes the message, then cannot hand it to the phone (Twilio 30003 and kin).
NOT_DELIVERED = {"twilio": "undelivered", "flowroute": "failed"}


async def deliver(dispatcher: Dispatcher, message_id: str) -> None:
    message = dispatcher.state.message(message_id)
    if message is None:
        return
    fault = dispatcher.state.take_fault(message.provider, "delivery")
    first, last = LIFECYCLE[message.provider]
    steps = [(first, None), (last, None) if fault is None else (NOT_DELIVERED[message.provider], fault.code)]
    for status, error_code in steps:
        await asyncio.sleep(dispatcher.config.callback_delay)
        current = dispatcher.state.message(message_id)
        if current is None or current.status in FINAL_STATUSES:
            return  # reset meanwhile, or a test already ended it through the control API
        await report_status(dispatcher, message_id, status, error_code)


async def report_status(
    dispatcher: Dispatcher, message_id: str, status: str, error_code: int | None = None
) -> CallbackRecord | None:
    """Record `status` and post it to the message's callback URL; None when the message has no callback URL."""
    message = dispatcher.state.move_status(message_id, status, error_code)
    if message is None or not message.status_callback:
        return None
    if dispatcher.state.take_fault(message.provider, "callback"):
        return None  # drop_callbacks: the provider moved on, the sender never hears (an outage on its side)
    if message.provider == TWILIO:
        return await dispatcher.post_twilio_form(
            kind="status",
            message_id=message_id,
            status=status,
            url=message.status_callback,
            params=twilio_wire.status_params(message, status, error_code),
            retry=True,
        )
    return await dispatcher.post_flowroute_json(
        kind="dlr",
        message_id=message_id,
        status=status,
        url=message.status_callback,
        document=flowroute_wire.dlr_payload(message, status, message.api_base, error_code),
        retry=True,
    )

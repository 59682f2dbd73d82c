"""Flowroute's wire shapes (Messaging API v2.1, JSON:API): what a send must satisfy, MDR records, DLRs, inbound.

See https://developer.flowroute.com/api/messages/v2.1/ (summarised in providers.md) and Flowroute's official SDK
(flowroute-sdk-v3-python): a DLR's `type` is "delivery_receipt", an MDR carries its `delivery_receipts`, the SDK
sends `is_mms` as the string "true", and each error object has an `id`.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from starlette.responses import JSONResponse

from repairtext.simulator.records import FlowrouteAccount, SimMessage, utcnow

JSON_API = "application/vnd.api+json"
NUMBER = re.compile(r"^\d{11}$")  # North America: "1" + 10 digits, no "+"
MAX_MEDIA = 10

# Simulator's table of DLR statuses: (level, status_code, status_code_description). Level 1 is Flowroute's hand-off
# to the carrier (ESME), level 2 anything after it.
DLR_STATUSES = {
    "message buffered": (1, "1003", "Message buffered, waiting for delivery"),
    "smsc submit": (1, "1001", "Message submitted to carrier"),
    "smsc intermediate notifications": (1, "1002", "Carrier intermediate notification"),
    "delivered": (2, "0", "Delivered to handset"),
    "smsc reject": (2, "4001", "Rejected by carrier"),
    "failed": (2, "4000", "Message failed"),
}


class FlowrouteError(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def error_response(error: FlowrouteError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"errors": [{"id": secrets.token_hex(8), "detail": error.detail, "status": error.status, "title": error.title}]}
    return JSONResponse(body, status_code=error.status, headers=headers, media_type=JSON_API)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 10000:02d}Z"


def check_send(document: object, account: FlowrouteAccount) -> dict:
    """The message's attributes, or the FlowrouteError (422 invalid, 403 number not owned) the API would answer."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or data.get("type") != "message" or not isinstance(data.get("attributes"), dict):
        raise FlowrouteError(422, "Unprocessable Entity", 'Expected {"data": {"type": "message", "attributes": {…}}}')
    attrs = data["attributes"]
    for name in ("to", "from"):
        if not isinstance(attrs.get(name), str) or not NUMBER.match(attrs[name]):
            raise FlowrouteError(422, "Unprocessable Entity", f"'{name}' must be an 11-digit number without '+'")
    body, media = attrs.get("body"), attrs.get("media_urls", [])
    if body is not None and not isinstance(body, str):
        raise FlowrouteError(422, "Unprocessable Entity", "'body' must be a string")
    if not isinstance(media, list) or not all(isinstance(u, str) and u for u in media) or len(media) > MAX_MEDIA:
        raise FlowrouteError(422, "Unprocessable Entity", f"'media_urls' must be a list of at most {MAX_MEDIA} URLs")
    if attrs.get("is_mms", False) not in (True, False, "true", "false"):  # the official SDK sends "true"
        raise FlowrouteError(422, "Unprocessable Entity", "'is_mms' must be true or false")
    if not body and not media:
        raise FlowrouteError(422, "Unprocessable Entity", "'body' is required unless 'media_urls' is given")
    if attrs["from"] not in account.numbers:
        raise FlowrouteError(403, "Forbidden", f"Number {attrs['from']} does not belong to this account")
    return attrs


def message_record(message: SimMessage, base_url: str) -> dict:
    """An MDR as GET /v2.1/messages/{id} answers it (under "data")."""
    attributes = {
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "direction": message.direction,
        "is_mms": bool(message.media_urls),
        "media_urls": list(message.media_urls),
        "delivery_receipts": [_receipt(status, code, at) for status, code, at in message.history],
        "message_type": "longcode",
        "message_encoding": 0,
        "status": message.status,
        "timestamp": iso(message.created_at),
        "amount_nanodollars": 4000000 * message.num_segments,
        "amount_display": f"${0.004 * message.num_segments:.4f}",
    }
    return {
        "type": "message",
        "id": message.id,
        "attributes": attributes,
        "links": {"self": f"{base_url}/v2.1/messages/{message.id}"},
    }


def _receipt(status: str, error_code: int | None, at: datetime) -> dict:
    level, code, description = DLR_STATUSES.get(status, (2, "4000", status))
    return {"level": level, "status": status, "status_code": str(error_code) if error_code is not None else code,
            "status_code_description": description, "timestamp": iso(at)}


def dlr_payload(message: SimMessage, status: str, base_url: str, error_code: int | None = None) -> dict:
    return {
        "data": {
            "id": message.id,
            "type": "delivery_receipt",
            "attributes": {"body": "" if message.media_urls else message.body,
                           **_receipt(status, error_code, utcnow())},
            "links": {"related": f"{base_url}/v2.1/messages/{message.id}"},
        }
    }


_MEDIA_ATTRIBUTES = ("file_name", "file_size", "mime_type", "url")


def inbound_payload(*, message_id: str, from_: str, to: str, body: str | None, media: list[dict],
                    callback_url: str | None = None) -> dict:
    """What Flowroute posts to the account's SMS/MMS callback; each media dict is id/file_name/file_size/
    mime_type/url. An SMS also carries `delivery_receipts` and `message_callback_url` (Receive an SMS)."""
    sms_only: dict = {} if media else {"delivery_receipts": [], "message_callback_url": callback_url}
    return {
        "data": {
            "id": message_id,
            "type": "message",
            "attributes": {
                "from": from_,
                "to": to,
                "body": body,
                "direction": "inbound",
                "is_mms": bool(media),
                "message_type": "longcode",
                "message_encoding": 0,
                "status": "delivered",
                "timestamp": iso(utcnow()),
                "amount_nanodollars": 0,
                "amount_display": "$0.0000",
                **sms_only,
            },
            "relationships": {"media": {"data": [{"id": m["id"], "type": "media"} for m in media]}},
        },
        "included": [
            {"id": m["id"], "type": "media", "attributes": {k: m[k] for k in _MEDIA_ATTRIBUTES}} for m in media
        ],
    }

"""Flowroute's Messaging API v2.1, for a shop that brings its own account (no credits counted).

Docs: https://developer.flowroute.com/api/messages/v2.1/send-an-sms/ . Numbers go as 11 digits without '+'.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from repairtext.adapters.providers.base import (
    ERROR_CODE_MAX,
    NUMBER_MAX,
    PROVIDER_ID_MAX,
    STATUS_MAX,
    InboundText,
    OutboundText,
    PayloadRefused,
    ProviderError,
    SendReceipt,
    StatusReport,
    checked,
    clean_text,
    retry_after_seconds,
)

JSON_API = "application/vnd.api+json"


def to_flowroute_number(e164: str) -> str:
    return e164.lstrip("+")


class FlowrouteProvider:
    name = "flowroute"

    def __init__(self, client: httpx.Client, api_base: str, access_key: str, secret_key: str):
        self._client = client
        self._base = f"{api_base.rstrip('/')}/v2.1"
        self._auth = (access_key, secret_key)

    def send(self, text: OutboundText) -> SendReceipt:
        attributes = {
            "to": to_flowroute_number(text.to),
            "from": to_flowroute_number(text.from_),
            "body": text.body,
            "is_mms": bool(text.media_urls),
            "media_urls": list(text.media_urls),
            "dlr_callback": text.status_callback,
        }
        payload = {"data": {"type": "message", "attributes": attributes}}
        try:
            response = self._client.post(
                f"{self._base}/messages", json=payload, auth=self._auth,
                headers={"Content-Type": JSON_API, "Accept": JSON_API},
            )
        except httpx.ConnectError as exc:
            raise ProviderError(f"cannot reach Flowroute: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:  # timeouts, dropped connections, protocol errors: it may have arrived
            raise ProviderError(f"no answer from Flowroute: {exc!r}", retryable=True, ambiguous=True) from exc
        if response.status_code in (200, 201, 202):
            return SendReceipt(response.json()["data"]["id"], "accepted")
        raise _error_from(response)

    def find_sent(self, text: OutboundText, since: datetime, exclude_ids: set[str]) -> SendReceipt | None:
        params = {
            "to": to_flowroute_number(text.to),
            "from": to_flowroute_number(text.from_),
            "start_date": (since - timedelta(minutes=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "limit": 200,
        }
        try:
            response = self._client.get(f"{self._base}/messages", params=params, auth=self._auth,
                                        headers={"Accept": JSON_API})
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot look up the message at Flowroute: {exc!r}", retryable=True, ambiguous=True) from exc
        if response.status_code != 200:
            raise ProviderError(f"Flowroute look-up answered {response.status_code}", retryable=True, ambiguous=True)
        for item in response.json().get("data", []):
            attrs = item.get("attributes", {})
            if item["id"] in exclude_ids or attrs.get("body") != text.body:
                continue
            if attrs.get("to") not in (to_flowroute_number(text.to), text.to):
                continue
            return SendReceipt(item["id"], attrs.get("status") or "accepted")
        return None


def _error_from(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        errors = response.json().get("errors") or [{}]
    except ValueError:
        errors = [{}]
    first = errors[0]
    message = first.get("detail") or first.get("title") or f"Flowroute answered HTTP {status}"
    code = str(status)
    if status == 429:
        return ProviderError(message, code, status, retryable=True,
                             retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        return ProviderError(message, code, status, retryable=True, ambiguous=True)
    if status == 401:
        return ProviderError(f"Flowroute refused the shop's access key and secret: {message}", code, status)
    if status == 403:
        return ProviderError(f"the sending number is not on the shop's Flowroute account: {message}", code, status)
    return ProviderError(message, code, status)


# --- webhooks (JSON:API documents) -----------------------------------------------------------------------------


def _object(value: object, where: str, *, required: bool = False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadRefused(f"{where} must be an object")
    return value


def _list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadRefused(f"{where} must be a list")
    return value


def _optional_text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadRefused(f"{where} must be a string")
    return clean_text(value)


def _document(document: object) -> tuple[dict, dict]:
    """(the document, its `data`), both objects."""
    doc = _object(document, "the body", required=True)
    return doc, _object(doc.get("data"), "data", required=True)


def parse_inbound(document: object) -> InboundText:
    """An inbound SMS/MMS: `data` with `attributes` (from, to, body) and, for MMS, `included` media objects
    named by `data.relationships.media.data`. PayloadRefused names the part that will not do."""
    doc, data = _document(document)
    attrs = _object(data.get("attributes"), "data.attributes")
    relationships = _object(data.get("relationships"), "data.relationships")
    named = _list(_object(relationships.get("media"), "data.relationships.media").get("data"),
                  "data.relationships.media.data")
    wanted = {_object(ref, "data.relationships.media.data[]", required=True).get("id") for ref in named}
    media = []
    for index, item in enumerate(_list(doc.get("included"), "included")):
        item = _object(item, f"included[{index}]", required=True)
        if item.get("type") != "media" or (wanted and item.get("id") not in wanted):
            continue
        item_attrs = _object(item.get("attributes"), f"included[{index}].attributes")
        url = _optional_text(item_attrs.get("url"), f"included[{index}].attributes.url")
        if url:
            media.append({"url": url,
                          "content_type": _optional_text(item_attrs.get("mime_type"), f"included[{index}].attributes.mime_type"),
                          "file_name": _optional_text(item_attrs.get("file_name"), f"included[{index}].attributes.file_name")})
    return InboundText(provider="flowroute", provider_id=checked("data.id", data.get("id"), PROVIDER_ID_MAX, required=True),
                       from_number=checked("data.attributes.from", attrs.get("from"), NUMBER_MAX),
                       to_number=checked("data.attributes.to", attrs.get("to"), NUMBER_MAX),
                       body=_optional_text(attrs.get("body"), "data.attributes.body") or "", media=media)


def parse_status(document: object) -> StatusReport:
    """A delivery receipt: `data.id` and `data.attributes.status` (and `status_code`)."""
    _, data = _document(document)
    attrs = _object(data.get("attributes"), "data.attributes")
    return StatusReport(
        provider_id=checked("data.id", data.get("id"), PROVIDER_ID_MAX, required=True),
        status=checked("data.attributes.status", attrs.get("status"), STATUS_MAX, required=True),
        error_code=checked("data.attributes.status_code", attrs.get("status_code"), ERROR_CODE_MAX) or None,
    )

"""Flowroute's Messaging API v2.1, for a shop that brings its own account (no credits counted).

Docs: https://developer.flowroute.com/api/messages/v2.1/send-an-sms/ . Numbers go as 11 digits without '+'.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from repairtext.adapters.providers.base import (
    ERROR_CODE_MAX,
    LOOKUP_BUDGET_SECONDS,
    LOOKUP_MAX_PAGES,
    LOOKUP_SKEW,
    NUMBER_MAX,
    PROVIDER_ID_MAX,
    STATUS_MAX,
    InboundText,
    OutboundText,
    PayloadRefused,
    ProviderError,
    ProviderStatus,
    SendReceipt,
    StatusReport,
    checked,
    clean_text,
    look_up_incomplete,
    nearest,
    retry_after_seconds,
)

JSON_API = "application/vnd.api+json"


def to_flowroute_number(e164: str) -> str:
    return e164.lstrip("+")


class FlowrouteProvider:
    name = "flowroute"

    def __init__(self, client: httpx.Client, api_base: str, access_key: str, secret_key: str,
                 page_size: int = 200, max_pages: int = 5 * LOOKUP_MAX_PAGES):
        self._client = client
        self._base = f"{api_base.rstrip('/')}/v2.1"
        self._auth = (access_key, secret_key)
        # Flowroute answers at most 200 MDRs a page, for the whole account: more pages than Twilio's.
        self._page_size, self._max_pages = min(page_size, 200), max_pages

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
        # The MDR list knows only start_date, end_date, limit and offset (to/from are not filters): read the
        # whole window since our first attempt, following links.next, and pick out the text ourselves.
        start = since - LOOKUP_SKEW
        end = max(datetime.now(UTC), since) + LOOKUP_SKEW
        url = f"{self._base}/messages"
        params: dict | None = {"start_date": _iso(start), "end_date": _iso(end), "limit": self._page_size,
                               "offset": 0}
        deadline = time.monotonic() + LOOKUP_BUDGET_SECONDS
        candidates: list[tuple[datetime | None, SendReceipt]] = []
        for _ in range(self._max_pages):
            page = self._page(url, params, deadline)
            for item in page.get("data") or []:
                attrs = item.get("attributes") or {}
                if item.get("id") not in exclude_ids and _same_text(attrs, text):
                    receipt = SendReceipt(item["id"], attrs.get("status") or "accepted")
                    candidates.append((_parse_time(attrs.get("timestamp")), receipt))
            next_url = (page.get("links") or {}).get("next")
            if not next_url:
                return nearest(candidates, since)
            if urlsplit(next_url).netloc != urlsplit(self._base).netloc:  # never send our credentials elsewhere
                raise look_up_incomplete(self.name, f"unexpected links.next {next_url!r}")
            url, params = next_url, None
        raise look_up_incomplete(self.name, f"more than {self._max_pages} pages of messages since {_iso(start)}")

    def fetch_status(self, provider_id: str) -> list[ProviderStatus]:
        try:
            response = self._client.get(f"{self._base}/messages/{provider_id}", auth=self._auth,
                                        headers={"Accept": JSON_API})
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot fetch the message from Flowroute: {exc!r}", retryable=True) from exc
        if response.status_code != 200:
            raise _error_from(response)
        attrs = (response.json().get("data") or {}).get("attributes") or {}
        # The MDR keeps every delivery receipt: replay them in order so the history is whole.
        dlrs = sorted(attrs.get("delivery_receipts") or [], key=lambda d: (str(d.get("timestamp")), d.get("level", 0)))
        reports = [ProviderStatus(str(d["status"]), _code(d.get("status_code"))) for d in dlrs if d.get("status")]
        if attrs.get("status") and (not reports or reports[-1].status != attrs["status"]):
            reports.append(ProviderStatus(str(attrs["status"])))
        return reports

    def _page(self, url: str, params: dict | None, deadline: float) -> dict:
        if time.monotonic() > deadline:
            raise look_up_incomplete(self.name, f"still paging after {LOOKUP_BUDGET_SECONDS:.0f} s")
        try:
            response = self._client.get(url, params=params, auth=self._auth, headers={"Accept": JSON_API})
            if response.status_code != 200:
                raise look_up_incomplete(self.name, f"the MDR list answered HTTP {response.status_code}")
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise look_up_incomplete(self.name, repr(exc)) from exc


def _same_text(attrs: dict, text: OutboundText) -> bool:
    return (attrs.get("direction", "outbound") == "outbound" and attrs.get("body") == text.body
            and attrs.get("to") == to_flowroute_number(text.to) and attrs.get("from") == to_flowroute_number(text.from_))


def _iso(moment: datetime) -> str:
    """As the official SDK sends dates (RFC 3339, UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _code(value) -> str | None:
    return None if value in (None, "") else str(value)


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

"""Twilio's Programmable Messaging REST API (2010-04-01), the built-in account every shop shares.

Docs: https://www.twilio.com/docs/messaging/api/message-resource and /docs/api/errors.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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

# Errors that will not change by retrying: the message fails and its credits come back.
PERMANENT_CODES = {"21211", "21614", "21408", "21617", "21606", "21612", "21610", "30007"}
OPTED_OUT_CODE = "21610"


class TwilioProvider:
    name = "twilio"

    def __init__(self, client: httpx.Client, api_base: str, account_sid: str, auth_token: str,
                 page_size: int = 1000, max_pages: int = LOOKUP_MAX_PAGES):
        self._client = client
        self._origin = api_base.rstrip("/")
        self._base = f"{self._origin}/2010-04-01/Accounts/{account_sid}"
        self._auth = (account_sid, auth_token)
        self._page_size, self._max_pages = page_size, max_pages

    def send(self, text: OutboundText) -> SendReceipt:
        form: dict[str, str | list[str]] = {
            "To": text.to, "From": text.from_, "Body": text.body, "StatusCallback": text.status_callback,
        }
        if text.media_urls:
            form["MediaUrl"] = list(text.media_urls)  # repeated field, one per media
        try:
            response = self._client.post(f"{self._base}/Messages.json", data=form, auth=self._auth)
        except httpx.ConnectError as exc:
            # Nothing reached Twilio: safe to retry as a fresh send.
            raise ProviderError(f"cannot reach Twilio: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:  # timeouts, dropped connections, protocol errors: it may have arrived
            raise ProviderError(f"no answer from Twilio: {exc!r}", retryable=True, ambiguous=True) from exc
        if response.status_code in (200, 201):
            data = response.json()
            segments = data.get("num_segments")
            return SendReceipt(data["sid"], data.get("status") or "queued", int(segments) if segments else None)
        raise _error_from(response)

    def find_sent(self, text: OutboundText, since: datetime, exclude_ids: set[str]) -> SendReceipt | None:
        # Filtered by To and From only, newest first, paged back on date_created to our first attempt. Not by
        # DateSent: it matches date_sent, null while Twilio still has the message queued, i.e. exactly the
        # texts most likely to be in doubt.
        floor, deadline = since - LOOKUP_SKEW, time.monotonic() + LOOKUP_BUDGET_SECONDS
        url = f"{self._base}/Messages.json"
        params: dict | None = {"To": text.to, "From": text.from_, "PageSize": self._page_size}
        candidates: list[tuple[datetime | None, SendReceipt]] = []
        for _ in range(self._max_pages):
            page = self._page(url, params, deadline)
            for item in page.get("messages") or []:
                created = _parse_date(item.get("date_created"))
                if created is not None and created < floor:
                    return nearest(candidates, since)
                if item.get("sid") not in exclude_ids and _same_text(item, text):
                    candidates.append((created, SendReceipt(item["sid"], item.get("status") or "queued")))
            next_uri = page.get("next_page_uri")
            if not next_uri:
                return nearest(candidates, since)
            if not str(next_uri).startswith("/"):  # a path on our API host; never send our credentials elsewhere
                raise look_up_incomplete(self.name, f"unexpected next_page_uri {next_uri!r}")
            url, params = self._origin + next_uri, None
        raise look_up_incomplete(self.name, f"more than {self._max_pages} pages of messages to {text.to}")

    def fetch_status(self, provider_id: str) -> list[ProviderStatus]:
        try:
            response = self._client.get(f"{self._base}/Messages/{provider_id}.json", auth=self._auth)
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot fetch the message from Twilio: {exc!r}", retryable=True) from exc
        if response.status_code != 200:
            raise _error_from(response)
        data = response.json()
        code = data.get("error_code")
        return [ProviderStatus(data.get("status") or "", str(code) if code is not None else None)]

    def _page(self, url: str, params: dict | None, deadline: float) -> dict:
        if time.monotonic() > deadline:
            raise look_up_incomplete(self.name, f"still paging after {LOOKUP_BUDGET_SECONDS:.0f} s")
        try:
            response = self._client.get(url, params=params, auth=self._auth)
            if response.status_code != 200:
                raise look_up_incomplete(self.name, f"the message list answered HTTP {response.status_code}")
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise look_up_incomplete(self.name, repr(exc)) from exc


def _same_text(item: dict, text: OutboundText) -> bool:
    return (str(item.get("direction", "outbound")).startswith("outbound") and item.get("body") == text.body
            and item.get("to") == text.to and item.get("from") == text.from_)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error_from(response: httpx.Response) -> ProviderError:
    try:
        data = response.json()
    except ValueError:
        data = {}
    code = str(data["code"]) if data.get("code") is not None else None
    message = data.get("message") or f"Twilio answered HTTP {response.status_code}"
    status = response.status_code
    if status == 429 or code == "20429":
        return ProviderError(message, code or "20429", status, retryable=True,
                             retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        # The request may have been accepted before the error: look it up before sending again.
        return ProviderError(message, code, status, retryable=True, ambiguous=True)
    if status in (401, 403):
        return ProviderError(f"Twilio refused our credentials: {message}", code, status, retryable=True)
    return ProviderError(message, code, status, opted_out=code == OPTED_OUT_CODE)


# --- webhooks (form posts, already signature-checked) ---------------------------------------------------------

MAX_MEDIA = 10


def parse_inbound(form: dict[str, str]) -> InboundText:
    """An inbound SMS/MMS form; PayloadRefused names the field that will not do."""
    sid = checked("MessageSid", form.get("MessageSid") or form.get("SmsSid"), PROVIDER_ID_MAX, required=True)
    try:
        count = min(max(int(form.get("NumMedia") or 0), 0), MAX_MEDIA)
    except ValueError:
        count = 0
    media = [{"url": clean_text(form[f"MediaUrl{i}"]), "content_type": clean_text(form.get(f"MediaContentType{i}") or "") or None}
             for i in range(count) if form.get(f"MediaUrl{i}")]
    return InboundText(provider="twilio", provider_id=sid, from_number=checked("From", form.get("From"), NUMBER_MAX),
                       to_number=checked("To", form.get("To"), NUMBER_MAX), body=clean_text(form.get("Body") or ""),
                       media=media, opt_out_type=clean_text(form.get("OptOutType") or "") or None,
                       from_country=clean_text(form.get("FromCountry") or "") or None)


def parse_status(form: dict[str, str]) -> StatusReport:
    """A status callback form."""
    return StatusReport(
        provider_id=checked("MessageSid", form.get("MessageSid") or form.get("SmsSid"), PROVIDER_ID_MAX, required=True),
        status=checked("MessageStatus", form.get("MessageStatus") or form.get("SmsStatus"), STATUS_MAX, required=True),
        error_code=checked("ErrorCode", form.get("ErrorCode"), ERROR_CODE_MAX) or None,
    )

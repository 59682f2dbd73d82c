"""Twilio's Programmable Messaging REST API (2010-04-01), the built-in account every shop shares.

Docs: https://www.twilio.com/docs/messaging/api/message-resource and /docs/api/errors.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from repairtext.adapters.providers.base import (
    ERROR_CODE_MAX,
    NUMBER_MAX,
    PROVIDER_ID_MAX,
    STATUS_MAX,
    InboundText,
    OutboundText,
    ProviderError,
    SendReceipt,
    StatusReport,
    checked,
    clean_text,
    retry_after_seconds,
)

# Errors that will not change by retrying: the message fails and its credits come back.
PERMANENT_CODES = {"21211", "21614", "21408", "21617", "21606", "21612", "21610", "30007"}
OPTED_OUT_CODE = "21610"


class TwilioProvider:
    name = "twilio"

    def __init__(self, client: httpx.Client, api_base: str, account_sid: str, auth_token: str):
        self._client = client
        self._base = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}"
        self._auth = (account_sid, auth_token)

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
        # Twilio filters by day (DateSent>=); we narrow to the instant and the body ourselves.
        params = {"To": text.to, "From": text.from_, "DateSent>": (since - timedelta(days=1)).date().isoformat()}
        try:
            response = self._client.get(f"{self._base}/Messages.json", params=params, auth=self._auth)
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot look up the message at Twilio: {exc!r}", retryable=True, ambiguous=True) from exc
        if response.status_code != 200:
            raise ProviderError(f"Twilio look-up answered {response.status_code}", retryable=True, ambiguous=True)
        for item in response.json().get("messages", []):
            created = _parse_date(item.get("date_created"))
            if item["sid"] in exclude_ids or item.get("body") != text.body:
                continue
            if created is not None and created < since - timedelta(seconds=5):
                continue
            return SendReceipt(item["sid"], item.get("status") or "queued")
        return None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


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

"""Flowroute's Messaging API v2.1, for a shop that brings its own account (no credits counted).

Docs: https://developer.flowroute.com/api/messages/v2.1/send-an-sms/ . Numbers go as 11 digits without '+'.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from repairtext.adapters.providers.base import OutboundText, ProviderError, SendReceipt, retry_after_seconds

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

"""Twilio's request signature (X-Twilio-Signature).

base64(HMAC-SHA1(auth_token, url + concatenated sorted form params)). Repeated names contribute each value
in the order received. The URL is the public one Twilio called, not what a proxy hands us.
See https://www.twilio.com/docs/usage/security#validating-requests
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    items = sorted(params, key=lambda kv: kv[0])  # stable: repeated names keep their order
    payload = url + "".join(name + value for name, value in items)
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not signature:
        return False
    expected = compute_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())

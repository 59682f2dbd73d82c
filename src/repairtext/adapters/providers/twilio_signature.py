"""Twilio's request signature (X-Twilio-Signature).

base64(HMAC-SHA1(auth_token, url + for each param name in sorted order, name + value)). For a name that
repeats, providers.md says "each value, in order"; Twilio's own validator (twilio-python's RequestValidator,
which Twilio's servers agree with) sorts the distinct values, so we do the same to interoperate.
The URL is the public one Twilio called, not what a proxy hands us; like RequestValidator we also accept the
URL with the default port added or removed, since Twilio signs whichever form it was configured with.
See https://www.twilio.com/docs/usage/security#validating-requests
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    # Work on netloc as written (case, IPv6 brackets, userinfo kept), as Twilio signs the URL as configured.
    if parts.port is None:
        other = parts._replace(netloc=f"{parts.netloc}:{default_port}")
    elif parts.port == default_port:
        other = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
    else:
        return [url]
    return [url, urlunsplit(other)]


def is_valid_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not signature:
        return False
    params = list(params)
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, params).encode(), signature.encode())
        for candidate in _url_variants(url)
    )

"""HTTP Basic auth, as both providers' APIs (and Twilio's media URLs) require it."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def credentials_match(given: tuple[str, str] | None, username: str, password: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given[0].encode(), username.encode()) & hmac.compare_digest(
        given[1].encode(), password.encode()
    )

"""Signing in to the staff pages as a browser does."""

from __future__ import annotations

import re

import httpx

SIGN_IN_NONCE = re.compile(r'name="signin_nonce" value="([^"]+)"')


def sign_in(http: httpx.Client, api_key: str, **fields) -> httpx.Response:
    """Load the form (it sets the nonce cookie), post it back with the nonce."""
    nonce = SIGN_IN_NONCE.search(http.get("/").text).group(1)
    return http.post("/", data={"api_key": api_key, "signin_nonce": nonce, **fields})

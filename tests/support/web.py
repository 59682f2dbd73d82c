"""Signing in to the staff pages as a browser does."""

from __future__ import annotations

import re

import httpx

from support.shops import OWNER_PASSWORD

SIGN_IN_NONCE = re.compile(r'name="signin_nonce" value="([^"]+)"')


def sign_in(http: httpx.Client, email: str, password: str = OWNER_PASSWORD, **fields) -> httpx.Response:
    """Load the form (it sets the nonce cookie), post it back with the nonce."""
    nonce = SIGN_IN_NONCE.search(http.get("/sign-in").text).group(1)
    return http.post("/sign-in", data={"email": email, "password": password, "signin_nonce": nonce, **fields})

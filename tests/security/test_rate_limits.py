"""Guessing secrets is rate-limited per client address (and sign-in per identity), in the database, so the limit
holds across server processes; the right secret still works from anywhere else, and waiting ends a block."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.live import LiveServer
from support.shops import OWNER_PASSWORD
from support.web import SIGN_IN_NONCE

from repairtext.bootstrap import build_context
from repairtext.clock import SettableClock
from repairtext.entrypoints.app import create_app

# Documentation addresses (RFC 5737), passed the way a proxy in front of us does; nothing is sent to them.
ATTACKER, SHOP_PC, OTHER = "203.0.113.7", "198.51.100.20", "192.0.2.33"


def from_ip(ip: str, **headers) -> dict:
    return {"X-Forwarded-For": ip, **headers}


@pytest.fixture
def clock(ctx, app, live_server):
    """The app under test, on a clock the test moves."""
    settable = SettableClock(datetime.now(UTC))
    live_server.serve(create_app(dataclasses.replace(ctx, clock=settable), inline_worker=False))
    yield settable
    live_server.serve(app)


def wrong_key(shop, n: int) -> str:
    return shop.api_key[:-6] + f"{n:06d}"


def test_api_key_guesses_are_blocked_per_address_and_the_right_key_still_works_elsewhere(shops, live_server, clock):
    shop = shops.create()
    url = f"{live_server.url}/api/v1/shop"
    for n in range(20):
        response = httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer {wrong_key(shop, n)}"))
        assert response.status_code == 401, n

    blocked = httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer {wrong_key(shop, 99)}"))
    assert blocked.status_code == 429 and blocked.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(blocked.headers["Retry-After"]) <= 300
    # Even the right key is refused from the blocked address: the guesser cannot tell a hit from a miss.
    assert httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer {shop.api_key}")).status_code == 429
    assert httpx.get(url, headers=from_ip(SHOP_PC, Authorization=f"Bearer {shop.api_key}")).status_code == 200

    clock.advance(timedelta(minutes=5, seconds=1))
    assert httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer {shop.api_key}")).status_code == 200


def test_the_count_is_shared_by_every_server_process(shops, settings, live_server):
    shop = shops.create()
    other = LiveServer().start()
    other_ctx = build_context(settings)
    other.serve(create_app(other_ctx, inline_worker=False))
    try:
        for n in range(20):
            base = (live_server.url, other.url)[n % 2]  # spread over both processes
            assert httpx.get(f"{base}/api/v1/shop",
                             headers=from_ip(ATTACKER, Authorization=f"Bearer {wrong_key(shop, n)}")).status_code == 401
        for base in (live_server.url, other.url):
            assert httpx.get(f"{base}/api/v1/shop",
                             headers=from_ip(ATTACKER, Authorization=f"Bearer {shop.api_key}")).status_code == 429
    finally:
        other.stop()
        other_ctx.close()


def sign_in_from(base_url: str, ip: str, email: str, password: str = OWNER_PASSWORD) -> httpx.Response:
    http = httpx.Client(base_url=base_url, follow_redirects=False, headers=from_ip(ip))
    nonce = SIGN_IN_NONCE.search(http.get("/sign-in").text).group(1)
    return http.post("/sign-in", data={"email": email, "password": password, "signin_nonce": nonce})


def test_ten_failed_sign_ins_for_one_email_block_it_for_fifteen_minutes_from_anywhere(shops, live_server, clock):
    shop, neighbour = shops.create(name="Target"), shops.create(name="Neighbour")
    addresses = [f"203.0.113.{n}" for n in range(1, 11)]  # ten addresses: the identity limit, not the address one
    for n, ip in enumerate(addresses):
        assert sign_in_from(live_server.url, ip, shop.owner_email, f"wrong password {n}").status_code == 401

    # Blocked even with the right password, and however the email is capitalised.
    blocked = sign_in_from(live_server.url, OTHER, shop.owner_email.upper())
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert "rt_session" not in blocked.headers.get("set-cookie", "")
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    # Only that email: another shop's owner signs in from the same addresses.
    assert sign_in_from(live_server.url, addresses[0], neighbour.owner_email).status_code == 303
    # The API (its own limit, per address) keeps working for the shop.
    assert shop.api.get("/api/v1/shop").status_code == 200

    clock.advance(timedelta(minutes=15, seconds=1))
    assert sign_in_from(live_server.url, OTHER, shop.owner_email).status_code == 303


def test_one_address_trying_many_emails_is_blocked_from_signing_in(shops, live_server):
    shop = shops.create()
    for n in range(30):
        assert sign_in_from(live_server.url, ATTACKER, f"guess{n}@example.com").status_code == 401, n
    assert sign_in_from(live_server.url, ATTACKER, shop.owner_email).status_code == 429
    assert sign_in_from(live_server.url, SHOP_PC, shop.owner_email).status_code == 303


def test_operator_token_guesses_are_blocked_per_address(shops, ctx, app, live_server):
    token = "operator-" + "t" * 40
    live_server.serve(create_app(dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings,
                                                                                         admin_token=token)),
                                 inline_worker=False))
    try:
        url = f"{live_server.url}/api/v1/admin/shops"
        for n in range(10):
            assert httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer guess-{n}")).status_code == 401
        assert httpx.get(url, headers=from_ip(ATTACKER, Authorization=f"Bearer {token}")).status_code == 429
        assert httpx.get(url, headers=from_ip(OTHER, Authorization=f"Bearer {token}")).status_code == 200
    finally:
        live_server.serve(app)


def test_portal_link_scans_are_blocked_per_address(shops, live_server):
    shop = shops.create()
    portal_url = shop.ticket(shop.customer()["id"])["portal_url"]
    token = portal_url.rsplit("/", 1)[1]
    for n in range(30):
        assert httpx.get(f"{live_server.url}/portal/{token[:-4]}{n:04d}",
                         headers=from_ip(ATTACKER)).status_code == 404, n
    blocked = httpx.get(f"{live_server.url}/portal/{token}", headers=from_ip(ATTACKER))
    assert blocked.status_code == 429 and "Too many" in blocked.text and int(blocked.headers["Retry-After"]) > 0
    assert httpx.get(f"{live_server.url}/portal/{token}/attachments/1", headers=from_ip(ATTACKER)).status_code == 429
    assert httpx.get(f"{live_server.url}/portal/{token}", headers=from_ip(OTHER)).status_code == 200

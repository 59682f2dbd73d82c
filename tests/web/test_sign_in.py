"""Staff sign-in: a server-side session cookie (never the key), every page behind it, each shop sees only its own."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update
from support.web import SIGN_IN_NONCE, sign_in

from repairtext.adapters.db.models import ApiKey, Comment
from repairtext.entrypoints.app import create_app

STAFF_PAGES = ["/tickets", "/tickets/1", "/templates", "/credits", "/inbox", "/settings"]


def test_sign_in_sets_a_signed_httponly_cookie_and_never_the_key(shops, live_server):
    shop = shops.create(name="Fix-It Phone Repair")
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)

    form = http.get("/")
    assert form.status_code == 200 and 'name="api_key"' in form.text

    wrong = sign_in(http, shop.api_key[:-2] + "xx")
    assert wrong.status_code == 401 and "That API key is not valid" in wrong.text
    assert "rt_session" not in wrong.headers.get("set-cookie", "")

    right = sign_in(http, shop.api_key)
    assert right.status_code == 303 and right.headers["location"] == "/tickets"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith("rt_session=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # the public URL is plain http here
    secret = shop.api_key.split("_", 2)[2]  # rt_<prefix>_<secret>; the secret itself may hold "_"
    assert secret not in cookie and shop.api_key not in cookie

    tickets = http.get("/tickets")
    assert tickets.status_code == 200 and "Fix-It Phone Repair" in tickets.text


def test_every_staff_page_needs_a_valid_session(shops, live_server):
    shop = shops.create()
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)
    for path in STAFF_PAGES:
        response = http.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/"), path
    assert http.get("/tickets/1").headers["location"] == "/?next=/tickets/1"
    assert http.post("/ui/segments", json={"text": "hi"}).status_code == 401

    signed = sign_in(http, shop.api_key).cookies["rt_session"]
    assert http.get("/tickets").status_code == 200
    made_up = secrets.token_urlsafe(32)  # shaped like a session token, but the server never issued it
    tampered = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    for value in (made_up, tampered, "garbage"):
        response = httpx.get(live_server.url + "/tickets", headers={"Cookie": f"rt_session={value}"})
        assert response.status_code == 303 and response.headers["location"] == "/", value


def test_next_takes_you_back_but_never_off_site(shops, live_server):
    shop = shops.create()
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)
    back = sign_in(http, shop.api_key, next="/credits")
    assert back.headers["location"] == "/credits"
    http.cookies.clear()
    away = sign_in(http, shop.api_key, next="//evil.example/x")
    assert away.headers["location"] == "/tickets"


def test_another_shops_ticket_answers_404_and_nothing_changes(shops, staff, ctx):
    a, b = shops.create(name="A"), shops.create(name="B")
    theirs = b.ticket(b.customer("Bea Other")["id"], subject="B's secret repair")
    mine = a.ticket(a.customer()["id"], subject="A's repair")
    web = staff(a)

    assert web.get(f"/tickets/{mine['id']}").status_code == 200
    page = web.get(f"/tickets/{theirs['id']}")
    assert page.status_code == 404 and "B's secret repair" not in page.text and "Not found" in page.text
    assert "B's secret repair" not in web.get("/tickets").text

    assert web.submit(f"/tickets/{theirs['id']}/comments", body="hi", sms_body="hi").status_code == 404
    assert web.submit(f"/tickets/{theirs['id']}/status", status="Resolved").status_code == 404
    assert b.api.get(f"/api/v1/tickets/{theirs['id']}").json()["status"] == "New"
    with ctx.db.transaction() as session:
        assert session.scalars(select(Comment.body).where(Comment.ticket_id == theirs["id"],
                                                          Comment.author == "staff")).all() == []


def test_forms_without_the_csrf_token_are_refused(shops, staff, ctx):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    web = staff(shop)
    refused = web.http.post(f"/tickets/{ticket['id']}/comments", data={"body": "sneaky", "csrf": "nope"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert [c for c in shop.comments(ticket["id"]) if c["author"] == "staff"] == []


def test_revoking_the_key_signs_the_browser_out(shops, staff, ctx):
    shop = shops.create()
    web = staff(shop)
    assert web.get("/tickets").status_code == 200
    with ctx.db.transaction() as session:
        session.execute(update(ApiKey).where(ApiKey.shop_id == shop.id).values(revoked_at=datetime.now(UTC)))
    assert web.get("/tickets").status_code == 303


def test_sign_out_forgets_the_session(shops, staff):
    web = staff(shops.create())
    out = web.submit("/sign-out")
    assert out.status_code == 303
    assert any(c.startswith('rt_session=""') for c in out.headers.get_list("set-cookie"))
    assert "Signed out." in web.follow(out).text
    assert web.get("/tickets").status_code == 303


def test_the_cookie_is_secure_when_the_public_url_is_https(shops, ctx, app, live_server):
    shop = shops.create()
    https_ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, public_url="https://desk.example"))
    live_server.serve(create_app(https_ctx, inline_worker=False))
    try:
        # The nonce cookie is Secure too, so a plain-http client must hand it back itself.
        form = httpx.get(live_server.url + "/")
        assert "Secure" in form.headers["set-cookie"]
        nonce = SIGN_IN_NONCE.search(form.text).group(1)
        response = httpx.post(live_server.url + "/", data={"api_key": shop.api_key, "signin_nonce": nonce},
                              cookies={"rt_signin": nonce})
    finally:
        live_server.serve(app)
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_a_session_lasts_a_working_day(shops, ctx):
    from datetime import timedelta

    from repairtext.clock import SettableClock
    from repairtext.services import staff_sessions

    shop = shops.create()
    with ctx.db.transaction() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.shop_id == shop.id))
    clock = SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    at_the_desk = dataclasses.replace(ctx, clock=clock)
    token = staff_sessions.do_start_session(at_the_desk, shop.id, key_id)
    clock.advance(timedelta(hours=11, minutes=59))
    assert staff_sessions.signed_in(at_the_desk, token).shop.id == shop.id
    clock.advance(timedelta(minutes=2))
    assert staff_sessions.signed_in(at_the_desk, token) is None


def test_a_sign_in_posted_from_another_site_is_refused(shops, live_server):
    """Login CSRF: a page elsewhere posting a key has no nonce cookie to match (SameSite=Strict)."""
    shop = shops.create()
    forged = httpx.post(f"{live_server.url}/", data={"api_key": shop.api_key, "signin_nonce": "guess"},
                        follow_redirects=False)
    assert forged.status_code == 403 and "rt_session" not in forged.headers.get("set-cookie", "")
    assert "expired or came from another site" in forged.text
    form = httpx.get(f"{live_server.url}/")
    assert "samesite=strict" in form.headers["set-cookie"].lower() and "HttpOnly" in form.headers["set-cookie"]

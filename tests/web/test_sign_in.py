"""Staff sign-in: email and password, a server-side session cookie, every page behind it, each shop sees only its
own."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from support.shops import OWNER_PASSWORD
from support.web import SIGN_IN_NONCE, sign_in

from repairtext.adapters.db.models import Comment, StaffAccount
from repairtext.entrypoints.app import create_app

STAFF_PAGES = ["/tickets", "/tickets/1", "/templates", "/credits", "/inbox", "/settings", "/settings/staff"]


def test_sign_in_with_email_and_password_sets_an_httponly_session_cookie(shops, live_server, ctx):
    shop = shops.create(name="Fix-It Phone Repair")
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)

    assert http.get("/").headers["location"] == "/sign-in"
    form = http.get("/sign-in")
    assert form.status_code == 200 and 'name="email"' in form.text and 'name="password"' in form.text

    wrong = sign_in(http, shop.owner_email, "not the password")
    assert wrong.status_code == 401 and "do not match an account" in wrong.text
    assert "rt_session" not in wrong.headers.get("set-cookie", "")
    nobody = sign_in(http, "nobody@example.com")
    assert nobody.status_code == 401 and nobody.text.count("do not match") == wrong.text.count("do not match")

    right = sign_in(http, shop.owner_email.upper())  # an email is not case-sensitive
    assert right.status_code == 303 and right.headers["location"] == "/tickets"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith("rt_session=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # the public URL is plain http here
    assert OWNER_PASSWORD not in cookie

    tickets = http.get("/tickets")
    assert tickets.status_code == 200 and "Fix-It Phone Repair" in tickets.text
    with ctx.db.reading() as session:
        stored = session.scalar(select(StaffAccount.password_hash).where(StaffAccount.email == shop.owner_email))
    assert stored.startswith("$argon2id$") and OWNER_PASSWORD not in stored


def test_the_api_key_no_longer_opens_the_pages(shops, live_server):
    shop = shops.create()
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)
    nonce = SIGN_IN_NONCE.search(http.get("/sign-in").text).group(1)
    assert http.post("/sign-in", data={"email": shop.api_key, "password": shop.api_key,
                                       "signin_nonce": nonce}).status_code == 401
    assert http.get("/tickets", headers={"Authorization": f"Bearer {shop.api_key}"}).status_code == 303


def test_every_staff_page_needs_a_valid_session(shops, live_server):
    shop = shops.create()
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)
    for path in STAFF_PAGES:
        response = http.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/"), path
    assert http.get("/tickets/1").headers["location"] == "/sign-in?next=/tickets/1"
    assert http.post("/ui/segments", json={"text": "hi"}).status_code == 401

    signed = sign_in(http, shop.owner_email).cookies["rt_session"]
    assert http.get("/tickets").status_code == 200
    made_up = secrets.token_urlsafe(32)  # shaped like a session token, but the server never issued it
    tampered = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    for value in (made_up, tampered, "garbage"):
        response = httpx.get(live_server.url + "/tickets", headers={"Cookie": f"rt_session={value}"})
        assert response.status_code == 303 and response.headers["location"] == "/sign-in", value


def test_next_takes_you_back_but_never_off_site(shops, live_server):
    shop = shops.create()
    http = httpx.Client(base_url=live_server.url, follow_redirects=False)
    back = sign_in(http, shop.owner_email, next="/credits")
    assert back.headers["location"] == "/credits"
    http.cookies.clear()
    away = sign_in(http, shop.owner_email, next="//evil.example/x")
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


def test_revoking_an_api_key_leaves_signed_in_people_alone(shops, staff):
    shop = shops.create()
    web = staff(shop)
    spare = shop.api.post("/api/v1/shop/api-keys", json={"name": "Counter"}).json()
    assert shop.api.delete(f"/api/v1/shop/api-keys/{spare['id']}").status_code == 204
    assert web.get("/tickets").status_code == 200


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
        form = httpx.get(live_server.url + "/sign-in")
        assert "Secure" in form.headers["set-cookie"]
        nonce = SIGN_IN_NONCE.search(form.text).group(1)
        response = httpx.post(live_server.url + "/sign-in", cookies={"rt_signin": nonce}, data={
            "email": shop.owner_email, "password": OWNER_PASSWORD, "signin_nonce": nonce})
    finally:
        live_server.serve(app)
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_a_session_lasts_a_working_day(shops, ctx):
    from datetime import timedelta

    from repairtext.clock import SettableClock
    from repairtext.services import staff_sessions

    shop = shops.create()
    with ctx.db.reading() as session:
        owner = session.scalar(select(StaffAccount).where(StaffAccount.email == shop.owner_email))
        session.expunge(owner)
    clock = SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    at_the_desk = dataclasses.replace(ctx, clock=clock)
    token = staff_sessions.do_start_session(at_the_desk, owner)
    clock.advance(timedelta(hours=11, minutes=59))
    assert staff_sessions.signed_in(at_the_desk, token).shop.id == shop.id
    clock.advance(timedelta(minutes=2))
    assert staff_sessions.signed_in(at_the_desk, token) is None


def test_a_sign_in_posted_from_another_site_is_refused(shops, live_server):
    """Login CSRF: a page elsewhere posting a password has no nonce cookie to match (SameSite=Strict)."""
    shop = shops.create()
    forged = httpx.post(f"{live_server.url}/sign-in", follow_redirects=False, data={
        "email": shop.owner_email, "password": OWNER_PASSWORD, "signin_nonce": "guess"})
    assert forged.status_code == 403 and "rt_session" not in forged.headers.get("set-cookie", "")
    assert "expired or came from another site" in forged.text
    form = httpx.get(f"{live_server.url}/sign-in")
    assert "samesite=strict" in form.headers["set-cookie"].lower() and "HttpOnly" in form.headers["set-cookie"]

"""Staff sessions end on the server: a copied cookie stops working at sign-out and when the person is removed."""

from __future__ import annotations

import re

import httpx
from support.shops import OWNER_PASSWORD
from support.web import SIGN_IN_NONCE, sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in_browser(base_url: str, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    assert sign_in(browser, email).status_code == 303
    return browser


def replay(base_url: str, cookie: str, path: str = "/tickets") -> httpx.Response:
    return httpx.get(base_url + path, headers={"Cookie": f"rt_session={cookie}"}, follow_redirects=False)


def test_a_cookie_copied_before_sign_out_does_not_work_after_it(shops, live_server):
    shop = shops.create()
    browser = signed_in_browser(live_server.url, shop.owner_email)
    copied = browser.cookies["rt_session"]
    assert replay(live_server.url, copied).status_code == 200

    csrf = CSRF.search(browser.get("/tickets").text).group(1)
    assert browser.post("/sign-out", data={"csrf": csrf}).status_code == 303

    page = replay(live_server.url, copied)
    assert page.status_code == 303 and page.headers["location"] == "/sign-in"
    ui = httpx.post(live_server.url + "/ui/segments", json={"text": "hi"}, headers={"Cookie": f"rt_session={copied}"})
    assert ui.status_code == 401
    # Signing in again gives a new session; the old one stays dead.
    again = signed_in_browser(live_server.url, shop.owner_email)
    assert again.cookies["rt_session"] != copied and again.get("/tickets").status_code == 200
    assert replay(live_server.url, copied).status_code == 303


def test_removing_a_person_ends_their_sessions_at_once_and_they_cannot_sign_in(shops, live_server):
    shop = shops.create()
    bob = shops.staff_account(shop.id, name="Bob Tech")
    owner = signed_in_browser(live_server.url, shop.owner_email)
    bobs = signed_in_browser(live_server.url, bob.email)
    assert bobs.get("/tickets").status_code == 200

    csrf = CSRF.search(owner.get("/settings/staff").text).group(1)
    assert owner.post(f"/settings/staff/{bob.id}/remove", data={"csrf": csrf}).status_code == 303
    assert bobs.get("/tickets").status_code == 303
    assert sign_in(httpx.Client(base_url=live_server.url), bob.email).status_code == 401
    assert owner.get("/tickets").status_code == 200


def test_signing_in_as_someone_else_ends_the_session_the_browser_had(shops, live_server):
    """At a shared counter: Bob signs in over Ana's session, and Ana's session ends on the server too."""
    shop = shops.create()
    bob = shops.staff_account(shop.id, name="Bob Tech")
    browser = httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30)
    nonce = SIGN_IN_NONCE.search(browser.get("/sign-in").text).group(1)  # the form, left open in a tab

    def post(email: str) -> httpx.Response:
        return browser.post("/sign-in", data={"email": email, "password": OWNER_PASSWORD, "signin_nonce": nonce})

    assert post(shop.owner_email).status_code == 303
    anas = browser.cookies["rt_session"]
    assert post(bob.email).status_code == 303
    assert browser.cookies["rt_session"] != anas
    assert replay(live_server.url, anas).status_code == 303
    assert "Bob Tech" in browser.get("/tickets").text

"""Staff sessions end on the server: a copied cookie stops working at sign-out and when its key is revoked."""

from __future__ import annotations

import re

import httpx
from support.web import sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in_browser(base_url: str, api_key: str) -> httpx.Client:
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    assert sign_in(browser, api_key).status_code == 303
    return browser


def replay(base_url: str, cookie: str, path: str = "/tickets") -> httpx.Response:
    return httpx.get(base_url + path, headers={"Cookie": f"rt_session={cookie}"}, follow_redirects=False)


def test_a_cookie_copied_before_sign_out_does_not_work_after_it(shops, live_server):
    shop = shops.create()
    browser = signed_in_browser(live_server.url, shop.api_key)
    copied = browser.cookies["rt_session"]
    assert replay(live_server.url, copied).status_code == 200

    csrf = CSRF.search(browser.get("/tickets").text).group(1)
    assert browser.post("/sign-out", data={"csrf": csrf}).status_code == 303

    page = replay(live_server.url, copied)
    assert page.status_code == 303 and page.headers["location"] == "/"
    ui = httpx.post(live_server.url + "/ui/segments", json={"text": "hi"}, headers={"Cookie": f"rt_session={copied}"})
    assert ui.status_code == 401
    # Signing in again gives a new session; the old one stays dead.
    again = signed_in_browser(live_server.url, shop.api_key)
    assert again.cookies["rt_session"] != copied and again.get("/tickets").status_code == 200
    assert replay(live_server.url, copied).status_code == 303


def test_revoking_a_key_through_the_api_ends_the_sessions_opened_with_it(shops, live_server):
    shop = shops.create()
    spare = shop.api.post("/api/v1/shop/api-keys", json={"name": "Counter"}).json()
    with_first = signed_in_browser(live_server.url, shop.api_key)
    with_spare = signed_in_browser(live_server.url, spare["key"])

    assert shop.api.delete(f"/api/v1/shop/api-keys/{spare['id']}").status_code == 204
    assert with_spare.get("/tickets").status_code == 303
    assert with_first.get("/tickets").status_code == 200

"""An invitation is an owner handing out access: it stops working when that owner is removed or made staff,
as their own sessions do, so nobody keeps a way back in through a link they made (or made for themselves)."""

from __future__ import annotations

import re

import httpx
from support.web import SIGN_IN_NONCE, sign_in

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r'id="invite-link">([^<]+)<')


def signed_in_browser(base_url: str, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    assert sign_in(browser, email).status_code == 303
    return browser


def invite(browser: httpx.Client, email: str, role: str = "owner") -> str:
    csrf = CSRF.search(browser.get("/tickets").text).group(1)
    page = browser.post("/settings/staff/invites", data={"csrf": csrf, "email": email, "role": role})
    assert page.status_code == 200, page.text[:300]
    return "/" + LINK.search(page.text).group(1).split("/", 3)[3]


def joins(base_url: str, path: str) -> int:
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as http:
        form = http.get(path)
        if form.status_code != 200:
            return form.status_code
        nonce = SIGN_IN_NONCE.search(form.text).group(1)
        return http.post(path, data={"name": "Mallory", "password": "a long enough password",
                                     "signin_nonce": nonce}).status_code


def test_a_removed_or_demoted_owners_invitations_stop_working(shops, live_server):
    shop = shops.create()
    alice = shops.staff_account(shop.id, name="Alice Owner", role="owner")
    carol = shops.staff_account(shop.id, name="Carol Owner", role="owner")
    bob = signed_in_browser(live_server.url, shop.owner_email)
    from_alice = invite(signed_in_browser(live_server.url, alice.email), "mallory@elsewhere.example")
    from_carol = invite(signed_in_browser(live_server.url, carol.email), "mal@elsewhere.example", role="staff")
    from_bob = invite(bob, "tina@shop.example", role="staff")

    csrf = CSRF.search(bob.get("/tickets").text).group(1)
    assert bob.post(f"/settings/staff/{alice.id}/remove", data={"csrf": csrf}).status_code == 303
    assert bob.post(f"/settings/staff/{carol.id}/role", data={"csrf": csrf, "role": "staff"}).status_code == 303

    assert joins(live_server.url, from_alice) == 404
    assert joins(live_server.url, from_carol) == 404
    assert "mallory@elsewhere.example" not in bob.get("/settings/staff").text
    assert joins(live_server.url, from_bob) == 303  # the remaining owner's invitation still works


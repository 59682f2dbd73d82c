"""Odd input on the staff pages (a digit that is not ASCII, an id past the database's integers, a NUL) is
answered like any other wrong value, never with a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from support.inbound import inbox, open_shop, twilio_text
from support.shops import fresh_number
from support.web import SIGN_IN_NONCE

NOT_IDS = ["²", "١٢", "9" * 30, str(2**63), "9" * 5000]


@pytest.mark.parametrize("bad", NOT_IDS)
def test_ids_and_counts_that_are_not_ours_are_not_a_500(shops, staff, bad):
    shop = shops.create()
    jane = shop.customer("Jane Cooper")
    ticket = shop.ticket(jane["id"])
    web = staff(shop)

    edit = web.submit(f"/tickets/{ticket['id']}/edit", subject="Cracked screen", problem="", customer_id=bad)
    assert edit.status_code == 422 and "Choose the customer this ticket is for" in edit.text
    opened = web.submit("/tickets", customer_id=bad, subject="Battery", problem="")
    assert opened.status_code == 422, opened.text[:300]
    for path, query in [("/tickets", {"customer_id": bad, "from": bad, "from_inbox": bad}),
                        ("/customers", {"q": bad, "from": bad}), ("/customers", {"q": f"#{bad}"}),
                        ("/customers/new", {"from_inbox": bad}),
                        (f"/tickets/{ticket['id']}/edit", {"find": bad})]:
        answer = web.http.get(path, params=query)
        assert answer.status_code == 200, (path, query, answer.status_code)
    assert shop.api.get("/api/v1/customers", params={"q": bad}).status_code in (200, 422)  # 422: too long
    assert web.submit(f"/settings/api-keys/{bad[:30]}/revoke").status_code in (404, 422)
    assert [k["name"] for k in shop.api.get("/api/v1/shop/api-keys").json()] == ["First key"]


def test_an_id_of_thousands_of_digits_in_a_page_path_is_not_found_not_a_500(shops, staff):
    """Starlette's `{x:int}` calls int() on any run of digits, and Python refuses more than 4,300 of them."""
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    web = staff(shop)
    huge = "9" * 5000
    for path in [f"/tickets/{huge}", f"/customers/{huge}/edit", f"/ui/inbox/{huge}/media/0",
                 f"/ui/tickets/{ticket['id']}/canned-replies/{huge}", f"/p/abc/attachments/{huge}"]:
        assert web.get(path).status_code == 404, path
    for path in [f"/settings/api-keys/{huge}/revoke", f"/tickets/{ticket['id']}/comments/{huge}/move"]:
        assert web.submit(path, ticket_id=str(ticket["id"])).status_code == 404, path
    assert shop.api.get(f"/api/v1/tickets/{huge}").status_code == 422


def test_a_nul_character_is_refused_by_the_field_or_matches_nothing(shops, sim, staff, live_server):
    """PostgreSQL cannot hold a NUL (nor compare with one): each form says so by the field, a search finds nothing."""
    shop = open_shop(shops)
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    twilio_text(sim, shop, fresh_number(), "Wrong number?")
    [text] = inbox(shop)
    web = staff(shop)

    for path, query in [("/customers", {"q": "Ja\x00ne"}), (f"/tickets/{ticket['id']}/edit", {"find": "\x00"}),
                        ("/tickets", {"q": "\x00"})]:
        assert web.http.get(path, params=query).status_code == 200, path
    invite = web.submit("/settings/staff/invites", email="tina\x00@shop.example", role="staff")
    assert invite.status_code == 422 and "enter an email address like name@example.com" in invite.text
    key = web.submit("/settings/api-keys", key_name="Till\x00")
    assert key.status_code == 422 and "may not contain a NUL character" in key.text
    dismissed = web.submit(f"/inbox/{text['id']}/dismiss", reason="other", details="spam\x00")
    assert dismissed.status_code == 422 and "may not contain a NUL character" in dismissed.text
    assert len(inbox(shop)) == 1
    assert [k["name"] for k in shop.api.get("/api/v1/shop/api-keys").json()] == ["First key"]

    with httpx.Client(base_url=live_server.url) as browser:
        nonce = SIGN_IN_NONCE.search(browser.get("/sign-in").text).group(1)
        refused = browser.post("/sign-in", data={"email": f"{shop.owner_email}\x00", "password": "whatever it is",
                                                 "signin_nonce": nonce})
        assert refused.status_code == 401 and "do not match an account" in refused.text

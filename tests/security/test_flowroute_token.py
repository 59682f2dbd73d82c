"""The shop's Flowroute webhook token is the owners' secret: anyone holding it can post texts and delivery receipts
as the shop's provider (a forged STOP opts a customer out), and a person who is removed keeps their copy."""

from __future__ import annotations

import httpx
from support.web import sign_in


def settings_page(base_url: str, email: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as browser:
        assert sign_in(browser, email).status_code == 303
        return browser.get("/settings")


def test_only_owners_see_the_flowroute_webhook_token(shops, live_server):
    shop = shops.create()
    bob = shops.staff_account(shop.id, name="Bob Tech")
    as_staff = settings_page(live_server.url, bob.email)
    assert as_staff.status_code == 200 and "/webhooks/twilio/inbound" in as_staff.text
    assert shop.flowroute_token not in as_staff.text
    assert shop.flowroute_token in settings_page(live_server.url, shop.owner_email).text

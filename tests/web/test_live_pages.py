"""Live pages in a real headless Chromium: a customer's reply, posted by the simulator, appears on an open
conversation and re-sorts an open ticket list within 2 s, without a reload; the navigation count follows."""

from __future__ import annotations

import pytest
from support.inbound import customer_with_number, open_shop, phone_of, twilio_text
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser


def test_a_reply_appears_on_the_conversation_and_tops_the_list_without_a_reload(browser, shops, live_server, sim):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    ana = customer_with_number(shop, name="Ana Ruiz")
    old = shop.ticket(ana["id"], subject="Pixel screen")
    shop.ticket(customer_with_number(shop, name="Bo Chen")["id"], subject="Laptop hinge")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    conversation = sign_in(context, live_server.url, shop)
    listing = context.new_page()
    listing.goto(f"{live_server.url}/tickets")
    conversation.goto(f"{live_server.url}/tickets/{old['id']}")
    for page in (conversation, listing):
        expect(page.locator("body[data-live=on]")).to_have_count(1, timeout=5000)
    first_row = listing.locator("#live-list tbody tr").first
    expect(first_row).to_contain_text("Laptop hinge")
    conversation.evaluate("window.notReloaded = true")

    twilio_text(sim, shop, phone_of(ana), "Is it ready yet?")

    expect(conversation.locator("#live-timeline")).to_contain_text("Is it ready yet?", timeout=2000)
    expect(conversation.locator("#live-ticket-head")).to_contain_text("Customer Reply", timeout=2000)
    assert conversation.evaluate("window.notReloaded") is True
    expect(first_row).to_contain_text("Pixel screen", timeout=2000)
    expect(first_row).to_contain_text("Needs reply")
    expect(listing.locator("#needs-reply-count")).to_have_text("1", timeout=2000)
    context.close()

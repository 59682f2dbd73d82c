"""Receipts staff can read: a text the carrier could not deliver shows on the ticket what happened and what to
do, with each status's time in the shop's time zone and the provider's raw words kept small for support."""

from __future__ import annotations

import html
import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from support.inbound import customer_with_number, flowroute_shop, open_shop
from support.shops import eventually
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)


def _settled(shop, ticket_id: int, status: str) -> dict:
    def done():
        found = [m for m in shop.messages(ticket_id=ticket_id) if m["status"] == status]
        return found[0] if found else None
    return eventually(done)


def _page_text(web, ticket_id: int) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    page = web.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_a_text_the_handset_never_got_says_so_in_plain_words(shops, staff, sim, worker):
    shop = open_shop(shops, time_zone="Pacific/Honolulu")  # no daylight saving: the zone's name is fixed
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "undelivered", "code": 30003})
    ticket = shop.ticket(customer_with_number(shop, name="Ana Ruiz")["id"])
    worker.drain()
    text = _settled(shop, ticket["id"], "undelivered")

    event = text["status_history"][-1]
    assert (event["status"], event["provider_status"], event["error_code"]) == ("undelivered", "undelivered", "30003")
    assert "switched off or out of coverage" in event["description"] and "call the customer" in event["advice"]
    page = _page_text(staff(shop), ticket["id"])
    # The reason, at once, beside the text; then the history, each status with its words and the raw ones.
    assert "The customer's phone could not be reached: it is switched off or out of coverage." in page
    assert "It may go through later, once the phone is back on. If texts keep failing, call the customer." in page
    assert "Twilio said: undelivered · code 30003" in page
    sent = next(e for e in text["status_history"] if e["status"] == "sent")
    local = datetime.fromisoformat(sent["at"]).astimezone(ZoneInfo("Pacific/Honolulu"))
    assert f"{local:%b %-d, %-I:%M:%S %p} HST sent Sent: the carrier has it" in page
    assert "Twilio said: sent" in page


def test_a_flowroute_receipt_that_failed_reads_by_its_status_word(shops, staff, sim, worker):
    shop = flowroute_shop(shops, sim)
    sim.post("/_sim/faults", {"provider": "flowroute", "kind": "undelivered", "code": 4001})
    ticket = shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    _settled(shop, ticket["id"], "failed")

    page = _page_text(staff(shop), ticket["id"])
    assert "The carrier could not deliver the text. Check the number with the customer." in page
    assert "Flowroute said: message buffered · code 1003" in page and "Flowroute said: failed · code 4001" in page
    assert "The carrier is holding the text until the customer's phone can take it" in page


def test_another_shops_failed_text_stays_out_of_sight(shops, staff, sim, worker):
    theirs = open_shop(shops, name="B")
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "undelivered", "code": 30006})
    ticket = theirs.ticket(customer_with_number(theirs, name="Bea Other")["id"])
    worker.drain()
    _settled(theirs, ticket["id"], "undelivered")

    web = staff(shops.create(name="A"))
    page = web.get(f"/tickets/{ticket['id']}")
    assert page.status_code == 404 and "landline" not in page.text and "Bea Other" not in page.text
    assert shops.create(name="C").api.get("/api/v1/messages", params={"ticket_id": ticket["id"]}).json() == []


def test_the_history_opens_from_the_keyboard_and_fits_a_phone(browser, shops, live_server, sim, worker):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "undelivered", "code": 30006})
    ticket = shop.ticket(customer_with_number(shop)["id"])
    worker.drain()
    _settled(shop, ticket["id"], "undelivered")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")

    history = page.locator(".sms-history summary").first
    history.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".sms-history ol").first).to_contain_text("mark this phone as home or work")
    expect(page.locator(".sms-history ol").first).to_contain_text("Twilio said: undelivered · code 30006")
    if shot := os.environ.get("REPAIRTEXT_SCREENSHOT"):
        page.screenshot(path=shot, full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

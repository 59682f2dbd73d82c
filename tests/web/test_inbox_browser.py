"""The inbox in a real headless Chromium: who a placed text is shown as written by (staff page and portal), the
picture of a text not yet placed, dismissing with a reason and finding it again, moving a text to another ticket;
with JavaScript and without, and no sideways scroll on a phone."""

from __future__ import annotations

import pytest
from support.inbound import customer_with_number, inbox, media, open_shop, phone_of, png, twilio_text
from support.shops import fresh_number
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser


def national(e164: str) -> str:
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def portal_authors(context, ticket: dict) -> list[str]:
    """Who the customer's portal says wrote each update (a fresh page: the customer has no staff cookie)."""
    page = context.new_page()
    page.goto(ticket["portal_url"])
    names = page.locator(".timeline .entry-head strong").all_inner_texts()
    page.close()
    return names


def test_placing_a_text_shows_the_number_unless_staff_link_it_to_the_customer(browser, shops, live_server, sim, worker):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ticket = shop.ticket(jane["id"], subject="iPhone 14 screen")
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, "Hi, Jane's husband here. Ready?", [media(png(), "image/png")])
    worker.drain()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page = sign_in(context, live_server.url, shop)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.get_by_role("link", name="Inbox").click()
    item = page.locator(".inbox-item").first
    expect(item).to_contain_text("Hi, Jane's husband here. Ready?")
    thumbnail = item.locator(".thumbs img")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0
    link = item.get_by_label(f"Add {national(stranger)} to the ticket's customer as a mobile phone")
    expect(link).not_to_be_checked()
    item.get_by_label("Place on ticket").select_option(label=f"#{ticket['number']} iPhone 14 screen · Jane Cooper")
    # With JavaScript the box names the customer of the ticket chosen.
    expect(item.get_by_label(f"Add {national(stranger)} to Jane Cooper as a mobile phone")).to_be_visible()
    item.get_by_role("button", name="Place").click()

    expect(page.locator(".flash")).to_have_text("Placed the text on this ticket.")
    entry = page.locator(".entry-customer").last
    expect(entry.locator(".author")).to_have_text(national(stranger))
    expect(entry).to_contain_text("not Jane Cooper's number")
    expect(entry.locator(".thumbs img")).to_be_visible()
    assert portal_authors(context, ticket)[-1] == national(stranger)

    twilio_text(sim, shop, stranger, "It's me again, same Jane household")
    page.goto(f"{live_server.url}/inbox")
    item = page.locator(".inbox-item").first
    item.get_by_label("Place on ticket").select_option(label=f"#{ticket['number']} iPhone 14 screen · Jane Cooper")
    item.get_by_label(f"Add {national(stranger)} to Jane Cooper as a mobile phone").check()
    item.get_by_role("button", name="Place").click()

    expect(page.locator(".flash")).to_have_text(
        f"Placed the text on this ticket; {national(stranger)} is one of Jane Cooper's phones now.")
    expect(page.locator(".entry-customer").last.locator(".author")).to_have_text("Jane Cooper")
    expect(page.locator(".phones")).to_contain_text(national(stranger))
    assert portal_authors(context, ticket)[-2:] == [national(stranger), "You"]
    assert problems == []
    context.close()


def test_dismissing_a_text_and_finding_it_again_on_a_phone(browser, shops, live_server, sim):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    shop.ticket(shop.customer("Jane Cooper")["id"])
    twilio_text(sim, shop, fresh_number(), "Sorry, wrong number")
    twilio_text(sim, shop, fresh_number(), "CHEAP WATCHES http://spam.example")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/inbox")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    first = page.locator(".inbox-item").first
    first.locator("summary", has_text="Dismiss").click()  # the <summary> opens the form
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    first.get_by_label("Reason").select_option(label="Other")
    first.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why")  # Other wants details, said by the field
    first = page.locator(".inbox-item").first
    first.get_by_label("Reason").select_option(label="Wrong number")
    first.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".flash")).to_have_text("Dismissed the text. It is kept under Dismissed.")
    expect(page.locator(".inbox-item")).to_have_count(1)

    page.get_by_role("link", name="Dismissed (1)").click()
    kept = page.locator(".inbox-item")
    expect(kept).to_have_count(1)
    expect(kept).to_contain_text("Sorry, wrong number")
    expect(kept).to_contain_text("Dismissed by Sam Owner")
    expect(kept).to_contain_text("Wrong number")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert len(inbox(shop)) == 1
    context.close()


def test_the_inbox_forms_work_without_javascript(browser, shops, live_server, sim):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ticket = shop.ticket(jane["id"], subject="Laptop")
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, "Spam spam spam")
    twilio_text(sim, shop, stranger, "Is the laptop ready? (Jane's new phone)")
    context = browser.new_context(java_script_enabled=False)
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/inbox")

    spam = page.locator(".inbox-item").first
    spam.locator("summary", has_text="Dismiss").click()
    spam.get_by_label("Reason").select_option(label="Other")
    spam.get_by_label("Details").fill("Same sender, spam before the real question")
    spam.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".flash")).to_have_text("Dismissed the text. It is kept under Dismissed.")

    real = page.locator(".inbox-item").first
    real.get_by_label("Place on ticket").select_option(label=f"#{ticket['number']} Laptop · Jane Cooper")
    real.get_by_label(f"Add {national(stranger)} to the ticket's customer as a mobile phone").check()
    real.get_by_role("button", name="Place").click()
    expect(page.locator(".flash")).to_contain_text(f"{national(stranger)} is one of Jane Cooper's phones now.")
    expect(page.locator(".entry-customer").last.locator(".author")).to_have_text("Jane Cooper")
    context.close()


def test_moving_a_misplaced_text_and_both_portals_follow(browser, shops, live_server, sim, worker):  # noqa: F811
    from playwright.sync_api import expect

    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ipad = shop.ticket(jane["id"], subject="iPad")
    laptop = shop.ticket(jane["id"], subject="Laptop")
    worker.drain()  # the laptop's Initial Problem text is the last sent: her reply lands there
    twilio_text(sim, shop, phone_of(jane), "About the iPad: is the glass in?")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{laptop['id']}")
    entry = page.locator(".entry-customer", has_text="About the iPad: is the glass in?")
    expect(entry).to_have_count(1)

    entry.get_by_text("Move to another ticket").click()
    entry.get_by_label("Move this text to").select_option(label=f"#{ipad['number']} iPad · New")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    entry.get_by_role("button", name="Move").click()

    page.wait_for_url(f"**/tickets/{ipad['id']}*")
    expect(page.locator(".flash")).to_have_text(f"Moved the text here from ticket #{laptop['number']}.")
    expect(page.locator(".entry-customer").last).to_contain_text("About the iPad: is the glass in?")
    expect(page.locator(".entry-customer").last.locator(".author")).to_have_text("Jane Cooper")
    expect(page.locator(".entry-system").last).to_contain_text("Sam Owner moved a text from Jane Cooper")
    expect(page.locator("#live-ticket-head")).to_contain_text("Customer Reply")

    customer = browser.new_context()
    old_portal, new_portal = customer.new_page(), customer.new_page()
    old_portal.goto(laptop["portal_url"])
    new_portal.goto(ipad["portal_url"])
    expect(old_portal.locator(".timeline, .empty").first).not_to_contain_text("About the iPad")
    expect(new_portal.locator(".timeline")).to_contain_text("About the iPad: is the glass in?")
    expect(new_portal.locator(".timeline .entry-head strong").last).to_have_text("You")
    customer.close()
    context.close()

"""Customers and ticket edits in a real headless Chromium: searching customers, fixing "Cannot text" from the
ticket page's own link and coming back, the new-ticket form's texting verdict (live, and without JavaScript),
editing a ticket; no sideways scroll on a 390 px phone."""

from __future__ import annotations

import re

import pytest
from support.inbound import customer_with_number, phone_of
from support.shops import fresh_number
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser


def _local(e164: str) -> str:
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_searching_customers_by_a_phone_written_another_way(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    ana = customer_with_number(shop, name="Ana Ruiz")
    customer_with_number(shop, name="Bo Chen")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.locator(".customers-table tbody tr")).to_have_count(2)
    _no_sideways_scroll(page)
    number = phone_of(ana)
    page.get_by_label("Search").fill(f"{number[2:5]}.{number[5:8]}.{number[8:]}")
    page.get_by_label("Search").press("Enter")
    expect(page.locator(".customers-table tbody tr")).to_have_count(1)
    expect(page.locator("#list-position")).to_have_text("1–1 of 1")
    page.get_by_role("link", name="Ana Ruiz").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Ruiz")
    expect(page.locator("#texting-verdict")).to_have_text(f"Will text {_local(number)}.")
    _no_sideways_scroll(page)
    page.get_by_role("link", name="Edit customer").click()
    _no_sideways_scroll(page)
    assert problems == []
    context.close()


def test_cannot_text_links_to_the_phones_and_saving_comes_back_to_the_ticket(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    number = fresh_number()
    rosa = shop.customer("Rosa Diaz", phones=[{"number": number, "type": "home"}])
    ticket = shop.ticket(rosa["id"], subject="Galaxy S23 battery")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")
    warning = page.locator(".sidebar .callout-warn")
    expect(warning).to_contain_text("Rosa Diaz has no phone typed mobile (only home)")

    warning.get_by_role("link", name="Fix the phones").click()
    page.wait_for_url(re.compile(rf"/customers/{rosa['id']}/edit\?next=.*#phones$"))
    expect(page.get_by_label("Phone 1", exact=True)).to_be_focused()
    expect(page.get_by_label("Phone 1", exact=True)).to_have_value(_local(number))
    page.get_by_label("Type of phone 1").select_option("mobile")
    page.get_by_role("button", name="Save customer").click()

    page.wait_for_url(f"**/tickets/{ticket['id']}")
    expect(page.locator(".flash")).to_have_text("Saved Rosa Diaz.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Galaxy S23 battery")
    expect(page.locator("#sms-warning")).to_have_count(0)
    expect(page.locator(".sidebar .callout-warn")).to_have_count(0)
    expect(page.locator(".sidebar")).to_contain_text("Can be texted.")
    assert shop.api.get(f"/api/v1/customers/{rosa['id']}").json()["phones"] == [{"number": number, "type": "mobile"}]
    context.close()


def test_the_new_ticket_form_says_live_whether_the_customer_can_be_texted(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    jane = customer_with_number(shop, name="Jane Cooper")
    rosa = shop.customer("Rosa Diaz", phones=[{"number": fresh_number(), "type": "home"}])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = sign_in(context, live_server.url, shop)
    verdict = page.locator("#texting-verdict")
    expect(verdict).to_have_text("Choose a customer to see whether they can be texted.")
    expect(page.get_by_role("button", name="Check texting")).to_be_hidden()  # JavaScript answers as you choose

    customer = page.get_by_label("Customer", exact=True)
    customer.select_option(str(jane["id"]))
    expect(verdict).to_have_text(f"Will text {_local(phone_of(jane))}.")
    customer.select_option(str(rosa["id"]))
    expect(verdict).to_have_text("Cannot text: Rosa Diaz has no phone typed mobile (only home); mark a phone as "
                                 "mobile. Fix the phones")
    verdict.get_by_role("link", name="Fix the phones").click()
    page.get_by_label("Type of phone 1").select_option("mobile")
    page.get_by_role("button", name="Save customer").click()
    page.wait_for_url(re.compile(rf"/tickets\?customer={rosa['id']}#open-ticket$"))
    expect(page.get_by_label("Customer", exact=True)).to_have_value(str(rosa["id"]))
    expect(verdict).to_contain_text("Will text")

    page.get_by_label("Subject").fill("iPad charging port")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("iPad charging port")
    context.close()

    plain = browser.new_context(java_script_enabled=False)
    page = sign_in(plain, live_server.url, shop)
    page.get_by_label("Customer", exact=True).select_option(str(jane["id"]))
    page.get_by_label("Subject").fill("Typed before checking")
    page.get_by_role("button", name="Check texting").click()
    expect(page.locator("#texting-verdict")).to_have_text(f"Will text {_local(phone_of(jane))}.")
    expect(page.get_by_label("Subject")).to_have_value("Typed before checking")
    plain.close()


def test_editing_a_ticket_moves_it_to_another_customer(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    jane, marcus = customer_with_number(shop, name="Jane Cooper"), customer_with_number(shop, name="Marcus Lee")
    ticket = shop.ticket(jane["id"], subject="Pixel screen", problem="Cracked")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")
    page.get_by_role("link", name="Edit ticket").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit ticket #{ticket['number']}")
    _no_sideways_scroll(page)

    page.get_by_label("Subject").fill("   ")  # passes the browser's "required", not ours
    page.get_by_role("button", name="Save ticket").click()
    expect(page.locator("#subject-error")).to_contain_text("Give the ticket a subject")

    page.get_by_label("Find a customer").fill("marcus")
    page.get_by_role("button", name="Find").click()
    page.get_by_label("Customer", exact=True).select_option(str(marcus["id"]))
    page.get_by_label("Subject").fill("Pixel 8 screen")
    page.get_by_label("Problem").fill("Cracked; frame bent")
    page.get_by_role("button", name="Save ticket").click()

    page.wait_for_url(f"**/tickets/{ticket['id']}")
    expect(page.locator(".flash")).to_have_text(f"Saved ticket #{ticket['number']}.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pixel 8 screen")
    expect(page.locator(".problem")).to_contain_text("Cracked; frame bent")
    expect(page.locator(".sidebar .customer-name")).to_have_text("Marcus Lee")
    context.close()

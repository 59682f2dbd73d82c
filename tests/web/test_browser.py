"""The pages in a real headless Chromium: sign in, live SMS cost while typing, posting, the portal; and the same
forms with JavaScript turned off."""

from __future__ import annotations

import os

import pytest
from support.shops import OWNER_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"headless Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(context, base_url: str, shop, email: str | None = None, password: str = OWNER_PASSWORD):
    """A new page signed in as the shop's owner (or as `email`), through the sign-in form."""
    page = context.new_page()
    page.goto(base_url + "/sign-in")
    page.get_by_label("Email").fill(email or shop.owner_email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tickets")
    return page


def test_typing_a_text_shows_its_cost_then_the_comment_lands_and_the_portal_shows_it(
        browser, shops, live_server, mms_reply):
    from playwright.sync_api import expect

    shop = shops.create(name="Fix-It Phone Repair")
    jane = shop.customer("Jane Cooper")
    ticket = shop.ticket(jane["id"], subject="iPhone 14 cracked screen")
    mms_reply(shop, jane["phones"][0]["number"], "Photo of the crack")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems = []
    page = sign_in(context, live_server.url, shop)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.get_by_role("link", name="iPhone 14 cracked screen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("iPhone 14 cracked screen")
    cost = page.locator("#sms-cost")
    sms = page.get_by_label("SMS text")
    expect(sms).to_be_hidden()  # one box by default
    page.get_by_label("Also text this").check()
    sms.fill("x" * 161)
    expect(cost).to_contain_text("161 characters · GSM-7 · 2 segments · 2 credits")
    sms.fill("Your phone is ready 📱")
    expect(cost).to_contain_text("UCS-2 · 1 segment · 1 credit")
    sms.fill("Your phone is ready, come by any time before 6.")
    expect(cost).to_contain_text("GSM-7 · 1 segment")

    page.get_by_label("Comment", exact=True).fill("Screen replaced and tested.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".flash")).to_have_text("Comment posted and text queued (1 segment).")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Screen replaced and tested.")
    expect(timeline).to_contain_text("Your phone is ready, come by any time before 6.")

    page.get_by_label("Comment", exact=True).fill("Used the spare screen from the drawer")
    page.get_by_label("Hidden comment (staff only)").check()
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".entry-hidden").last).to_contain_text("Used the spare screen from the drawer")
    thumbnail = page.locator(".thumbs img").first
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    assert problems == []  # no CSP violations, no script errors

    portal = browser.new_context().new_page()  # a customer: no staff cookie
    portal.goto(ticket["portal_url"])
    expect(portal.get_by_role("heading", level=1)).to_contain_text("iPhone 14 cracked screen")
    expect(portal.locator(".timeline")).to_contain_text("Screen replaced and tested.")
    expect(portal.locator(".timeline")).not_to_contain_text("spare screen")
    picture = portal.get_by_role("img", name="photo.png (opens full size)")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") > 0
    context.close()


def test_the_forms_work_without_javascript(browser, shops, live_server):
    from playwright.sync_api import expect

    shop = shops.create()
    context = browser.new_context(java_script_enabled=False)
    page = sign_in(context, live_server.url, shop)

    page.get_by_label("Name").fill("Marcus Lee")
    page.get_by_label("Phone").fill("(206) 555-0187")
    page.get_by_role("button", name="Add customer").click()
    expect(page.locator(".flash")).to_contain_text("Added Marcus Lee")
    page.get_by_label("Subject").fill("Galaxy S22 battery swap")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Galaxy S22 battery swap")

    page.get_by_label("Ticket status").select_option("In Progress")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator(".flash")).to_have_text("Status is now In Progress.")
    expect(page.locator(".sms-cost")).to_have_text("Type a text to see what it costs before you send it.")
    context.close()

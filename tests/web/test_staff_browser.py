"""Staff accounts in a real headless Chromium: sign in with email and password, invite a colleague who joins
through the link, change a role, sign out."""

from __future__ import annotations

import re

from support.shops import OWNER_PASSWORD
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)


def test_sign_in_invite_join_comment_change_role_and_sign_out(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create(name="Fix-It Phone Repair")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="iPhone 14 cracked screen")
    owner_context = browser.new_context(viewport={"width": 1280, "height": 900})

    page = owner_context.new_page()
    page.goto(live_server.url + "/tickets")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_label("Email").fill(shop.owner_email)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.get_by_label("Email")).to_have_value(shop.owner_email)  # kept: only the password is retyped
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/tickets")

    page.goto(live_server.url + "/settings")
    page.get_by_role("link", name=re.compile("People")).click()
    page.get_by_label("Email", exact=True).fill("tina@fixit.example")
    page.get_by_label("Role", exact=True).select_option("staff")
    page.get_by_role("button", name="Create invitation link").click()
    link = page.locator("#invite-link").inner_text()
    assert link.startswith(live_server.url + "/invite/")

    newcomer = browser.new_context(viewport={"width": 390, "height": 844})
    joining = newcomer.new_page()
    joining.goto(link)
    expect(joining.get_by_text("tina@fixit.example")).to_be_visible()
    joining.get_by_label("Your name").fill("Tina Tech")
    joining.get_by_label("Password").fill("tina's long password")
    joining.get_by_role("button", name="Create my account").click()
    joining.wait_for_url("**/tickets")
    expect(joining.locator(".flash")).to_contain_text("Welcome, Tina Tech")
    expect(joining.locator(".topbar .who")).to_have_text("Tina Tech")  # who is signed in, on every page
    assert joining.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    joining.get_by_role("link", name="iPhone 14 cracked screen").click()
    joining.get_by_label("Comment", exact=True).fill("Screen ordered, back Thursday.")
    joining.get_by_role("button", name="Post comment").click()
    entry = joining.locator("#live-timeline li").filter(has_text="Screen ordered, back Thursday.")
    expect(entry.locator(".author")).to_have_text("Tina Tech")

    page.goto(f"{live_server.url}/tickets/{ticket['id']}")
    expect(page.locator("#live-timeline li").filter(has_text="Screen ordered").locator(".author")).to_have_text("Tina Tech")

    page.goto(live_server.url + "/settings/staff")
    row = page.locator("tr").filter(has_text="Tina Tech")
    row.get_by_label("Role of Tina Tech", exact=True).select_option("owner")
    row.get_by_role("button", name="Change the role of Tina Tech").click()
    expect(page.locator(".flash")).to_contain_text("Tina Tech is now an owner.")

    joining.get_by_role("button", name="Sign out").click()
    joining.wait_for_url("**/sign-in")
    joining.goto(live_server.url + "/tickets")
    expect(joining).to_have_url(re.compile(r"/sign-in"))
    owner_context.close()
    newcomer.close()

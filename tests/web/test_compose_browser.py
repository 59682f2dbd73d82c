"""Composing and the template editor in a real headless Chromium: the live cost names what makes a text UCS-2
and fixes it, "Also text this" fills the text from the comment, Ctrl+Enter posts, a canned reply goes in filled
for the ticket; the template editor warns past one credit and shows a refusal beside the template."""

from __future__ import annotations

import pytest
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser


def _plain_shop(shops, **kwargs):
    """A shop with smart encoding off: what staff type is what is sent, curly quotes and all."""
    shop = shops.create(**kwargs)
    assert shop.api.patch("/api/v1/shop", json={"smart_encoding": False}).status_code == 200
    return shop


def _signed_in(browser, live_server, shop, **context):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    page = sign_in(context, live_server.url, shop)
    problems: list[str] = []
    # A refused template is answered 422 on purpose; Chromium logs any 4xx as a failed load.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 422" not in m.text
            else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page, problems


def test_a_smart_quote_is_named_and_plain_characters_bring_the_cost_down(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = _plain_shop(shops)
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Pixel 8 screen")
    context, page, problems = _signed_in(browser, live_server, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")

    page.get_by_label("Also text this").check()
    sms = page.get_by_label("SMS text")
    cost = page.locator("#sms-cost")
    words = "Hi Jane, your Pixel 8 screen is in and fitted, come by after 3 today. We are open until 6 tonight"
    sms.fill(words)
    expect(cost).to_have_text(f"{len(words)} characters · GSM-7 · 1 segment · 1 credit")
    culprits = page.locator("#sms-chars")
    expect(culprits).to_be_hidden()

    sms.press("End")
    sms.press_sequentially(" — it’s “ready”…")
    expect(cost).to_contain_text("UCS-2 · 2 segments · 2 credits")
    expect(culprits).to_be_visible()
    for named in ("“ left double quotation mark → \"", "’ right single quotation mark → '", "— em dash → -",
                  "… horizontal ellipsis → ..."):
        expect(culprits).to_contain_text(named)
    expect(culprits).to_contain_text("GSM-7 · 1 credit instead of 2 credits")
    expect(page.locator("#compose-preview")).to_contain_text("By text: " + words + " — it’s “ready”… · ")

    page.get_by_role("button", name="Use plain characters").click()
    expect(sms).to_have_value(words + " - it's \"ready\"...")
    expect(cost).to_contain_text("GSM-7 · 1 segment · 1 credit")
    expect(culprits).to_be_hidden()

    sms.press("End")
    sms.press_sequentially(" 👍")  # no plain spelling: named as such, and no button to pretend otherwise
    expect(cost).to_contain_text("UCS-2")
    expect(culprits).to_contain_text("👍 thumbs up sign (no plain spelling)")
    expect(page.get_by_role("button", name="Use plain characters")).to_be_hidden()
    assert problems == []
    context.close()


def test_also_text_this_follows_the_comment_until_edited_and_ctrl_enter_posts(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Battery swap")
    context, page, problems = _signed_in(browser, live_server, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")

    comment = page.get_by_label("Comment", exact=True)
    sms = page.get_by_label("SMS text")
    preview = page.locator("#compose-preview")
    expect(sms).to_be_hidden()
    comment.fill("Battery swapped, ready at the desk")
    expect(preview).to_contain_text("On the portal: Battery swapped, ready at the desk")
    expect(preview).to_contain_text("By text: nothing (not texted)")

    page.get_by_label("Also text this").check()
    expect(sms).to_have_value("Battery swapped, ready at the desk")
    comment.press("End")
    comment.press_sequentially(".")
    expect(sms).to_have_value("Battery swapped, ready at the desk.")  # follows while untouched
    expect(preview).to_contain_text("By text: Battery swapped, ready at the desk. · 35 characters · GSM-7 · "
                                    "1 segment · 1 credit")

    sms.fill("Hi Jane, your phone is ready!")
    comment.press("End")
    comment.press_sequentially(" Tested charging.")
    expect(sms).to_have_value("Hi Jane, your phone is ready!")  # edited by hand: stays as written
    page.get_by_label("Hidden comment (staff only)").check()
    expect(preview).to_contain_text("On the portal: nothing: a hidden comment is for staff only")

    sms.press("Control+Enter")
    expect(page.locator(".flash")).to_have_text("Comment posted and text queued (1 segment).")
    assert "Hi Jane, your phone is ready!" in [m["body"] for m in shop.messages(ticket_id=ticket["id"])]
    note = shop.comments(ticket["id"])[-1]
    assert note["body"] == "Battery swapped, ready at the desk. Tested charging." and note["public"] is False

    # Unticked, the box sends nothing, whatever it held.
    page.get_by_label("Comment", exact=True).fill("Customer called, will come Friday")
    page.get_by_label("Also text this").check()
    page.get_by_label("Also text this").uncheck()
    page.get_by_label("Comment", exact=True).press("Control+Enter")
    expect(page.locator(".flash")).to_have_text("Comment posted.")
    assert not [m for m in shop.messages(ticket_id=ticket["id"]) if "Friday" in m["body"]]
    assert problems == []
    context.close()


def test_a_canned_reply_goes_into_the_comment_filled_in_for_the_ticket(browser, shops, live_server, staff):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create(name="Fix-It")
    ticket = shop.ticket(shop.customer("Ana Ruiz")["id"], subject="Pixel 8 screen")
    web = staff(shop)
    web.submit("/templates/canned", title="Part ordered",
               body="Hi {{ customer.first_name }}, the part for #{{ ticket.number }} is ordered.")
    context, page, problems = _signed_in(browser, live_server, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")

    comment = page.get_by_label("Comment", exact=True)
    comment.fill("Update: ")
    page.get_by_label("Also text this").check()
    page.get_by_label("Insert canned reply").select_option(label="Part ordered")
    page.get_by_role("button", name="Insert", exact=True).click()
    expect(comment).to_have_value(f"Update: Hi Ana, the part for #{ticket['number']} is ordered.")
    expect(page.get_by_label("SMS text")).to_have_value(f"Update: Hi Ana, the part for #{ticket['number']} is ordered.")
    assert page.url.endswith(f"/tickets/{ticket['id']}")  # in place: nothing reloaded
    assert problems == []
    context.close()


def test_the_template_editor_prices_as_you_type_and_refuses_beside_the_template(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create(name="Fix-It")
    shop.ticket(shop.customer("Jane Cooper")["id"], subject="Cracked screen")
    context, page, problems = _signed_in(browser, live_server, shop)
    page.goto(f"{live_server.url}/templates")

    card = page.locator("#trigger-status-ready-for-pickup")
    box = card.get_by_label("Text")
    cost = card.locator(".sms-cost")
    expect(cost).to_contain_text("For a typical ticket:")
    expect(cost).to_contain_text("GSM-7 · 1 segment · 1 credit")
    expect(card.locator("[data-over-one]")).to_be_hidden()

    box.fill("Good news {{ customer.first_name }}! Ticket #{{ ticket.number }} ({{ ticket.subject }}) is ready for "
             "pickup at {{ shop.name }}. We are open 9 to 6 on weekdays and 10 to 4 on Saturdays; bring your receipt.")
    expect(cost).to_contain_text("GSM-7 · 2 segments · 2 credits")
    expect(card.locator("[data-over-one]")).to_contain_text("This text costs 2 credits for a typical ticket")

    box.fill("Hi {{ customer.first_name }},\nyour {{ ticket.colour }} phone is ready")
    error = card.locator(".field-error")
    expect(error).to_contain_text("line 2: unknown variable 'ticket.colour'")
    expect(card.locator("[data-over-one]")).to_be_hidden()
    scrolled = page.evaluate("window.scrollY")
    card.get_by_role("button", name="Save").click()
    expect(error).to_contain_text("line 2: unknown variable 'ticket.colour'")
    assert page.url.endswith("/templates") and page.evaluate("window.scrollY") == scrolled  # no reload, no jump
    expect(box).to_be_focused()

    box.fill("Ready, {{ customer.first_name }}: #{{ ticket.number }}")
    expect(error).to_have_count(0)
    card.get_by_role("button", name="Preview").click()
    expect(card.locator("[data-preview]")).to_contain_text("Preview for ticket #1")
    expect(card.locator("[data-preview]")).to_contain_text("Ready, Jane: #1")
    assert page.url.endswith("/templates")

    card.get_by_role("button", name="Save").click()
    page.wait_for_url("**/templates#trigger-status-ready-for-pickup")
    expect(page.locator("#trigger-status-ready-for-pickup")).to_contain_text("Saved the Status: Ready for Pickup text.")
    expect(page.locator("#trigger-status-ready-for-pickup").get_by_label("Text")).to_be_in_viewport()
    assert problems == []
    context.close()


def test_without_javascript_a_refused_template_opens_at_the_template_with_its_error(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    context, page, _ = _signed_in(browser, live_server, shop, java_script_enabled=False)
    page.set_viewport_size({"width": 390, "height": 700})
    page.goto(f"{live_server.url}/templates")
    card = page.locator("#trigger-status-resolved")
    card.get_by_label("Text").fill("Thanks {{ customer.nickname }}")
    card.get_by_role("button", name="Save").click()
    expect(card.locator(".field-error")).to_contain_text("line 1: unknown variable 'customer.nickname'")
    assert page.url.endswith("#trigger-status-resolved")
    expect(card.get_by_label("Text")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll on a phone
    context.close()

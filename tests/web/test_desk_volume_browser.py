"""The desk at a few thousand tickets, in a real headless Chromium: the newest activity first with its position,
the next page, search by number, name and a phone typed any way, the needs-reply filter, and a reply on the
oldest ticket arriving on top, counted, without another shop's tickets ever showing."""

from __future__ import annotations

from sqlalchemy import update
from support.inbound import open_shop, twilio_text
from support.volume import grow, phone_for
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

from repairtext.adapters.db.models import Ticket

TICKETS = 3000


def national(e164: str) -> str:
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def test_search_filters_pages_and_a_reply_on_the_oldest_ticket_at_three_thousand_tickets(
        browser, shops, live_server, sim, ctx):  # noqa: F811
    from playwright.sync_api import expect

    shop, other = open_shop(shops), open_shop(shops, name="Other Shop")
    grow(ctx, shop.id, TICKETS)
    grow(ctx, other.id, 200, status="New")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = sign_in(context, live_server.url, shop)

    rows = page.locator("#live-list tbody tr")
    expect(page.locator("#list-position")).to_have_text("1–50 of 1,000+")
    expect(rows).to_have_count(50)
    expect(rows.first.locator("td.num")).to_have_text(str(TICKETS))  # newest activity first
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#list-position")).to_have_text("51–100 of 1,000+")
    expect(rows.first.locator("td.num")).to_have_text(str(TICKETS - 50))

    search = page.get_by_label("Search")
    # "1234" is also words: ticket 1235's subject ends in 1234, tickets 2469-70 are Customer 1234's.
    for typed, expected in [("#1234", ["1234"]), ("1234", ["2470", "2469", "1235", "1234"]),
                            ("Customer 7 Volume", ["16", "15"]),
                            (national(phone_for(shop.id, 7)), ["16", "15"]),
                            (phone_for(shop.id, 7)[2:], ["16", "15"])]:
        search.fill(typed)
        search.press("Enter")
        expect(page.locator("#live-list tbody tr td.num")).to_have_text(expected)
    # Another shop's customers and tickets never show, even searched by their own name or number.
    search.fill(national(phone_for(other.id, 3)))
    search.press("Enter")
    expect(page.get_by_text("No ticket matches.")).to_be_visible()

    page.goto(live_server.url + "/tickets")
    page.get_by_label("Needs reply").check()
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("No ticket matches.")).to_be_visible()

    # The oldest ticket's customer has only that ticket, so their reply is routed to it.
    ana = shop.customer("Ana Oldest")
    with ctx.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.shop_id == shop.id, Ticket.number == 1)
                        .values(customer_id=ana["id"]))
    page.goto(live_server.url + "/tickets")
    expect(page.locator("body[data-live=on]")).to_have_count(1, timeout=5000)  # the stream is open
    twilio_text(sim, shop, ana["phones"][0]["number"], "Is my repair done yet?")
    expect(rows.first.locator("td.num")).to_have_text("1", timeout=5000)  # live, no reload
    expect(rows.first).to_have_class("needs-reply")
    expect(page.locator("#needs-reply-count")).to_have_text("1")
    page.get_by_label("Needs reply").check()
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#list-position")).to_have_text("1–1 of 1")
    context.close()

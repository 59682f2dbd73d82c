"""A shop's own long status names (up to 60 characters) in a real headless Chromium: on a ticket, the status menu
shows the chosen name whole and its open list stays inside the window at 1280 px; at 390 px the status badge
stays inside the ticket's head and nothing scrolls sideways."""

from __future__ import annotations

import pytest
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

from repairtext.adapters.db.models import TicketStatus

pytestmark = pytest.mark.browser

# 60 characters each, the longest a status name may be (ticket_statuses.name): one with spaces, one without.
WORDY = "Waiting for the manufacturer's replacement board (warranty)"
WORDLESS = "Awaiting-customer-approval-of-the-revised-estimate-for-repair"[:60]

MEASURE = """([selector, container]) => {
    const el = document.querySelector(selector);
    const box = el.getBoundingClientRect();
    const outer = container ? document.querySelector(container).getBoundingClientRect()
                            : {left: 0, right: window.innerWidth};
    const root = document.scrollingElement;
    return {left: box.left, right: box.right, top: box.top, bottom: box.bottom,
            outer_left: outer.left, outer_right: outer.right,
            scroll_width: el.scrollWidth, client_width: el.clientWidth,
            page_scroll_width: root.scrollWidth, page_client_width: root.clientWidth,
            window_width: window.innerWidth, window_height: window.innerHeight};
}"""

# How many lines the chosen name needs at the menu's font and width, and how many lines of text the box holds.
LINES = """() => {
    const menu = document.querySelector("#status"), style = getComputedStyle(menu);
    const canvas = document.createElement("canvas").getContext("2d");
    canvas.font = style.font;
    const text = menu.options[menu.selectedIndex].text;
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;  // "normal" on a native menu
    const inner = menu.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = menu.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    return {text_width: canvas.measureText(text).width, inner_width: inner, lines_shown: Math.round(height / line)};
}"""


def _shop_with_long_statuses(ctx, shops):
    shop = shops.create(name="Fix-It Phone Repair")
    with ctx.db.transaction() as session:
        for position, name in enumerate((WORDY, WORDLESS), start=100):
            session.add(TicketStatus(shop_id=shop.id, name=name, position=position))
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="iPhone 14 cracked screen")
    answer = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": WORDLESS})
    assert answer.status_code == 200, answer.text
    return shop, ticket


def _inside(box: dict) -> bool:
    return box["outer_left"] <= box["left"] and box["right"] <= box["outer_right"]


def test_the_status_menu_shows_a_long_name_whole_and_its_list_stays_in_the_window_at_1280_px(
        browser, ctx, shops, live_server):  # noqa: F811
    shop, ticket = _shop_with_long_statuses(ctx, shops)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")
    assert page.get_by_label("Ticket status").input_value() == WORDLESS

    menu = page.evaluate(MEASURE, ["#status", ".sidebar .card"])
    assert _inside(menu) and menu["top"] >= 0 and menu["bottom"] <= menu["window_height"], menu
    assert menu["right"] <= menu["window_width"] and menu["scroll_width"] <= menu["client_width"], menu
    lines = page.evaluate(LINES)
    needed = -(-lines["text_width"] // lines["inner_width"])  # ceil
    assert needed >= 2 and lines["lines_shown"] >= needed, lines  # wrapped, not cut after 30 characters

    page.get_by_label("Ticket status").click()  # open the list: every choice inside the window
    options = page.evaluate("""() => [...document.querySelectorAll("#status option")].map(o => {
        const box = o.getBoundingClientRect();
        return {text: o.text, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                scroll_width: o.scrollWidth, client_width: o.clientWidth};
    })""")
    assert [o["text"] for o in options][-2:] == [WORDY, WORDLESS]
    for o in options:
        assert o["left"] >= 0 and o["right"] <= 1280 and o["top"] >= 0 and o["bottom"] <= 800, o
        assert o["scroll_width"] <= o["client_width"], o
    page.keyboard.press("Escape")
    assert menu["page_scroll_width"] <= menu["page_client_width"], menu
    context.close()


def test_the_status_badge_stays_in_the_ticket_head_at_390_px(browser, ctx, shops, live_server):  # noqa: F811
    shop, ticket = _shop_with_long_statuses(ctx, shops)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/tickets/{ticket['id']}")
    badge = page.evaluate(MEASURE, ["#live-ticket-head .badge", "#live-ticket-head"])
    assert _inside(badge) and badge["scroll_width"] <= badge["client_width"], badge
    assert page.locator("#live-ticket-head .badge").inner_text() == WORDLESS  # whole, wrapped
    assert badge["page_scroll_width"] <= badge["page_client_width"], badge
    menu = page.evaluate(MEASURE, ["#status", ".sidebar .card"])
    assert _inside(menu), menu

    page.goto(f"{live_server.url}/tickets")  # the list shows the same badge, wrapped in its cell
    in_list = page.evaluate(MEASURE, ["#live-list .badge", "#live-list .table-wrap"])
    assert _inside(in_list) and in_list["page_scroll_width"] <= in_list["page_client_width"], in_list
    table = page.evaluate(MEASURE, ["#live-list .table-wrap", None])
    assert table["scroll_width"] <= table["client_width"], table  # no sideways scroll inside the list either
    context.close()

"""The credits page in a real headless Chromium: the usage chart as drawn (at 390 px and 1280 px), the CSV as the
browser downloads it, and the add-on button, disabled until the 30-day rule allows buying, then bought through
the confirmation page with JavaScript off."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support.usage import ledger_totals_by_day, ledger_use_by_day, shop_with_usage
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser

RANGE = "from=2026-10-28&to=2026-11-10"


def bars(page) -> dict[str, dict[str, int]]:
    return {b["date"]: b for b in page.eval_on_selector_all("svg.usage-chart g.chart-bar", """gs => gs.map(g => ({
        date: g.dataset.date, used: Number(g.dataset.used), monthly: Number(g.dataset.monthlyToDate),
        addon: Number(g.dataset.addonToDate), rects: g.querySelectorAll("rect").length,
        height: Array.from(g.querySelectorAll("rect")).reduce((h, r) => h + r.getBoundingClientRect().height, 0)}))""")}


@pytest.mark.parametrize("width", [390, 1280])
def test_the_chart_draws_each_day_month_to_date_against_the_allowance(browser, shops, ctx, live_server, width):  # noqa: F811
    from playwright.sync_api import expect

    shop = shop_with_usage(ctx, shops)
    used = ledger_use_by_day(ctx, shop.id)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = sign_in(context, live_server.url, shop)
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/credits?{RANGE}")

    chart = page.locator("svg.usage-chart")
    expect(chart).to_be_visible()
    assert chart.get_attribute("role") == "img"
    assert page.locator("svg.usage-chart > title").text_content().startswith("Credits used so far each month")
    desc = page.locator("svg.usage-chart > desc").text_content()
    assert "monthly allowance of 25 credits" in desc and "Nov 10, 2026: 25 of the 25 monthly credits and 5 add-on" in desc

    drawn = bars(page)
    usage_days = [d for d, u in used.items() if u["monthly"] + u["addon"]]
    assert sorted(usage_days) == ["2026-10-29", "2026-11-02", "2026-11-05", "2026-11-07"]
    for day in usage_days:  # a column on each day with usage, carrying that day's use from the ledger
        assert drawn[day]["used"] == used[day]["monthly"] + used[day]["addon"]
    assert "2026-10-28" not in drawn  # nothing used yet: no column
    assert sum(b["used"] for b in drawn.values()) == sum(u["monthly"] + u["addon"] for u in used.values())
    october = used["2026-10-29"]["monthly"]
    assert drawn["2026-10-31"]["monthly"] == october  # month to date carries over quiet days…
    assert drawn["2026-11-02"]["monthly"] == 12  # …and starts again with the allowance on the 1st
    assert (drawn["2026-11-07"]["monthly"], drawn["2026-11-07"]["addon"], drawn["2026-11-07"]["rects"]) == (25, 5, 2)
    assert (drawn["2026-11-06"]["monthly"], drawn["2026-11-06"]["rects"]) == (22, 1)
    assert drawn["2026-11-07"]["height"] > drawn["2026-11-06"]["height"] > drawn["2026-11-02"]["height"] > 0
    assert chart.get_attribute("data-used-monthly") == str(sum(u["monthly"] for u in used.values()))
    assert chart.get_attribute("data-used-addon") == "5"

    # The allowance line sits at 25: the top of a column of 25 monthly credits is on it.
    line = page.locator(".chart-allowance").bounding_box()
    full = page.locator('g.chart-bar[data-date="2026-11-07"] .bar-monthly').bounding_box()
    assert abs(line["y"] + line["height"] / 2 - full["y"]) < 2
    expect(page.locator(".chart-allowance-label")).to_have_text("Monthly allowance 25")

    # Readable at this width: no sideways scroll, the chart as wide as its card, labels inside it, not overlapping.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = chart.bounding_box()
    assert box["width"] >= min(width, 1240) * 0.75 and box["x"] + box["width"] <= width
    labels = [page.locator("svg.usage-chart text.chart-x").nth(i).bounding_box()
              for i in range(page.locator("svg.usage-chart text.chart-x").count())]
    visible = sorted((b for b in labels if b and b["width"]), key=lambda b: b["x"])
    assert len(visible) >= 2 and all(b["x"] >= box["x"] - 1 and b["x"] + b["width"] <= box["x"] + box["width"] + 1
                                     for b in visible)
    assert all(a["x"] + a["width"] <= b["x"] for a, b in zip(visible, visible[1:], strict=False))
    assert all(b["height"] >= 11 for b in visible)  # drawn in CSS pixels: not shrunk with the chart
    assert problems == []  # no CSP violations, no script errors
    context.close()


def test_the_csv_downloads_with_the_staff_session_and_matches_the_ledger(browser, shops, ctx, live_server):  # noqa: F811
    shop = shop_with_usage(ctx, shops)
    context = browser.new_context(accept_downloads=True)
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/credits?{RANGE}")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download CSV").click()
    download = waiting.value
    assert download.suggested_filename == "consumables-2026-10-28-2026-11-10.csv"
    with open(download.path(), "rb") as f:
        content = f.read()
    rows = {r["date"]: r for r in csv.DictReader(io.StringIO(content.decode()))}
    assert list(rows) == [(date(2026, 10, 28) + timedelta(days=i)).isoformat() for i in range(14)]
    used, totals = ledger_use_by_day(ctx, shop.id), ledger_totals_by_day(ctx, shop.id)
    for day, row in rows.items():
        assert int(row["monthly_used"]) == used.get(day, {}).get("monthly", 0)
        assert int(row["addon_used"]) == used.get(day, {}).get("addon", 0)
        assert int(row["granted"]) == totals.get(day, {}).get("grant", 0)
        assert int(row["addons_bought"]) == totals.get(day, {}).get("purchase", 0)
        assert int(row["expired"]) == -totals.get(day, {}).get("expiry", 0)
    assert rows["2026-11-04"]["addons_bought"] == "2500" and rows["2026-11-02"]["granted"] == "25"
    api = shop.api.get("/api/v1/reports/consumables", params={"from": "2026-10-28", "to": "2026-11-10", "format": "csv"})
    assert content == api.content  # byte for byte the API's report
    context.close()


def test_the_buy_button_waits_for_the_thirty_day_rule_and_buying_needs_no_javascript(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    today = datetime.now(ZoneInfo("America/Chicago")).date()
    young = shops.create(started=today - timedelta(days=29))
    context = browser.new_context(java_script_enabled=False)
    page = sign_in(context, live_server.url, young)
    page.goto(f"{live_server.url}/credits")
    button = page.get_by_role("button", name="Buy add-on pack")
    expect(button).to_be_disabled()
    expect(page.locator("#addon-when")).to_contain_text(f"Add-on packs can be bought from {(today + timedelta(days=1)).isoformat()}")
    assert button.get_attribute("aria-describedby") == "addon-when"
    context.close()

    old = shops.create(started=today - timedelta(days=30))
    context = browser.new_context(java_script_enabled=False)
    page = sign_in(context, live_server.url, old)
    page.goto(f"{live_server.url}/credits")
    button = page.get_by_role("button", name="Buy add-on pack")
    expect(button).to_be_enabled()
    button.click()  # a page of its own states what is bought, and for how much, before anything is posted
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy an add-on pack?")
    expect(page.locator(".confirm-terms")).to_contain_text("2,500")
    expect(page.locator(".confirm-terms")).to_contain_text("$20.00")
    assert old.credits()["addon_remaining"] == 0
    page.get_by_role("button", name="Buy 2,500 credits for $20.00").click()
    expect(page.locator(".flash")).to_have_text("Bought an add-on pack: 2,500 credits for $20.00. They roll over until used.")
    assert old.credits()["addon_remaining"] == 2500
    expect(page.locator(".stat-total .stat-value")).to_have_text(f"{2500 + old.credits()['monthly_remaining']:,}")
    context.close()

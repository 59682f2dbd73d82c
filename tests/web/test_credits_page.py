"""The credits page over real HTTP: the date range and its errors by the field, the CSV for the staff session,
the add-on confirmation step without JavaScript, another shop's usage never shown, and the low-credit banner on
every staff page at the cost of one primary-key read."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import event
from support.usage import ZONE, at, ledger_use_by_day, shop_with_usage, text_costing

from repairtext.clock import SettableClock

PURCHASE_KEY = re.compile(r'name="purchase_key" value="([^"]+)"')


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
    return match.group(1) if match else ""


def input_value(html: str, field: str) -> str:
    match = re.search(rf'<input id="{field}" name="{field}" type="date" value="([^"]*)"', html)
    assert match, f"no date input {field}"
    return match.group(1)


def test_the_range_defaults_to_the_allowance_month_so_far(shops, staff, ctx):
    ctx.clock = SettableClock(at(2026, 11, 10))
    shop = shops.create(time_zone=ZONE)
    page = staff(shop).get("/credits")
    assert page.status_code == 200
    assert (input_value(page.text, "from"), input_value(page.text, "to")) == ("2026-11-01", "2026-11-10")
    assert '<label for="from">From</label>' in page.text and '<label for="to">To</label>' in page.text
    assert 'href="/credits/usage.csv?from=2026-11-01&amp;to=2026-11-10"' in page.text
    assert page.text.count('<svg class="usage-chart"') == 1 and 'data-days="10"' in page.text


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"from": "2026-13-01"}, "from", "Use a date like 2026-11-01."),
    ({"to": "11/10/2026"}, "to", "Use a date like 2026-11-01."),
    ({"from": "2026-11-10", "to": "2026-11-01"}, "from", "&#39;from&#39; (2026-11-10) is after &#39;to&#39; (2026-11-01)"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "from", "A report covers at most 366 days; this range has 367."),
    ({"from": "1999-12-31", "to": "2000-01-05"}, "from", "Use a date from 2000-01-01 to 2099-12-31."),
    ({"from": "2099-12-30", "to": "9999-12-31"}, "to", "Use a date from 2000-01-01 to 2099-12-31."),
    ({"from": "x" * 5000}, "from", "Use a date like 2026-11-01."),
])
def test_a_bad_range_is_refused_by_its_field(shops, staff, query, field, message):
    web = staff(shops.create())
    for path in ("/credits", "/credits/usage.csv"):  # the CSV link made by hand gets the page, with the error
        page = web.http.get(path, params=query)
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        assert field_error(page.text, field).startswith(message)
        assert f'<input id="{field}" name="{field}" type="date"' in page.text and 'aria-invalid="true"' in page.text
        assert 'class="usage-chart"' not in page.text and "Download CSV" not in page.text


def test_the_api_refuses_the_same_ranges_by_the_field(shops):
    shop = shops.create()
    for query, field in (({"from": "2025-01-01", "to": "2026-01-02"}, "from"),
                         ({"from": "2099-12-30", "to": "9999-12-31"}, "to")):
        answer = shop.api.get("/api/v1/reports/consumables", params=query)
        assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == [field]


def test_a_full_year_of_366_days_is_allowed(shops, staff):
    shop = shops.create()
    web = staff(shop)
    page = web.http.get("/credits", params={"from": "2024-01-01", "to": "2024-12-31"})  # a leap year
    assert page.status_code == 200 and 'data-days="366"' in page.text
    download = web.http.get("/credits/usage.csv", params={"from": "2024-01-01", "to": "2024-12-31"})
    assert download.status_code == 200 and len(download.text.strip().splitlines()) == 1 + 366


def test_the_csv_comes_with_the_staff_session_and_says_what_the_api_says(shops, staff, ctx, live_server):
    shop = shop_with_usage(ctx, shops)
    web = staff(shop)
    query = {"from": "2026-10-28", "to": "2026-11-10"}
    download = web.http.get("/credits/usage.csv", params=query)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == 'attachment; filename="consumables-2026-10-28-2026-11-10.csv"'
    assert download.headers["cache-control"] == "no-store"
    assert download.content == shop.api.get("/api/v1/reports/consumables", params={**query, "format": "csv"}).content
    rows = {r["date"]: r for r in csv.DictReader(io.StringIO(download.text))}
    for day, used in ledger_use_by_day(ctx, shop.id).items():
        assert (int(rows[day]["monthly_used"]), int(rows[day]["addon_used"])) == (used["monthly"], used["addon"])

    with httpx.Client(base_url=live_server.url) as stranger:  # no session: the sign-in page, not the data
        answer = stranger.get("/credits/usage.csv", params=query)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in?next=/credits/usage.csv")


def test_another_shops_usage_never_appears(shops, staff, ctx):
    busy = shop_with_usage(ctx, shops)
    quiet = shops.create(name="Quiet Repairs", plan="starter", started=date(2026, 8, 1), time_zone=ZONE)
    query = {"from": "2026-10-28", "to": "2026-11-10"}
    mine, theirs = staff(busy), staff(quiet)
    assert mine.http.get("/credits", params=query).text.count('class="chart-bar"') == 12

    page = theirs.http.get("/credits", params=query).text
    assert 'class="chart-bar"' not in page and 'data-used-monthly="0" data-used-addon="0"' in page
    assert "No credits used in this range." in page and "Autumn Repairs" not in page
    rows = list(csv.DictReader(io.StringIO(theirs.http.get("/credits/usage.csv", params=query).text)))
    assert len(rows) == 14
    assert all(r["monthly_used"] == r["addon_used"] == r["addons_bought"] == r["texts"] == "0" for r in rows)
    assert [r["granted"] for r in rows if r["granted"] != "0"] == ["25"]  # its own allowance, on the day it opened
    assert 'id="credit-alert"' not in page


def test_buying_goes_through_a_confirmation_that_states_credits_and_price(shops, staff):
    shop = shops.create(started=date.today() - timedelta(days=40))
    web = staff(shop)
    credits_page = web.get("/credits").text
    assert '<form method="get" action="/credits/addons/confirm">' in credits_page  # the button only asks
    assert 'method="post" action="/credits/addons"' not in credits_page

    confirm = web.get("/credits/addons/confirm")
    assert confirm.status_code == 200
    assert "<dt>Credits</dt><dd>2,500</dd>" in confirm.text and "<dt>Price</dt><dd>$20.00, sold at cost</dd>" in confirm.text
    assert '<form method="post" action="/credits/addons"' in confirm.text and 'name="csrf"' in confirm.text
    key = PURCHASE_KEY.search(confirm.text).group(1)
    assert shop.credits()["addon_remaining"] == 0  # asking costs nothing

    forged = web.http.post("/credits/addons", data={"purchase_key": key})  # no CSRF token
    assert forged.status_code == 403 and shop.credits()["addon_remaining"] == 0

    bought = web.follow(web.submit("/credits/addons", purchase_key=key))
    assert "Bought an add-on pack: 2,500 credits for $20.00." in bought.text
    assert shop.credits()["addon_remaining"] == 2500
    again = web.follow(web.submit("/credits/addons", purchase_key=key))  # a double submit of the same form
    assert "This add-on pack was already bought (2,500 credits for $20.00)" in again.text
    assert shop.credits()["addon_remaining"] == 2500

    second = PURCHASE_KEY.search(web.get("/credits/addons/confirm").text).group(1)  # a new confirmation: a new pack
    assert second != key
    web.follow(web.submit("/credits/addons", purchase_key=second))
    assert shop.credits()["addon_remaining"] == 5000


def test_a_shop_younger_than_thirty_days_is_told_when_it_may_buy(shops, staff, ctx):
    ctx.clock = SettableClock(datetime(2026, 11, 10, 16, tzinfo=UTC))
    shop = shops.create(started=date(2026, 10, 20), time_zone=ZONE)
    web = staff(shop)
    page = web.get("/credits").text
    assert re.search(r'<button type="submit" class="button button-primary" disabled aria-describedby="addon-when">'
                     r'Buy add-on pack</button>', page)
    assert "Add-on packs can be bought from <time datetime=\"2026-11-19\">2026-11-19</time>" in page
    confirm = web.get("/credits/addons/confirm").text
    assert "purchase_key" not in confirm and 'method="post" action="/credits/addons"' not in confirm
    assert "can be bought from <time datetime=\"2026-11-19\">" in confirm
    refused = web.follow(web.submit("/credits/addons", purchase_key="k" * 32))
    assert "Add-on packs can be bought from 2026-11-19" in refused.text and 'class="flash flash-error"' in refused.text
    assert shop.credits()["addon_remaining"] == 0

    ctx.clock.set(datetime(2026, 11, 19, 16, tzinfo=UTC))  # the 30th day: on sale
    web = staff(shop)
    assert "disabled" not in re.search(r"<button[^>]*>Buy add-on pack</button>", web.get("/credits").text).group(0)


STAFF_PAGES = ["/tickets", "/tickets/{ticket}", "/inbox", "/templates", "/settings", "/credits"]


def test_the_low_credit_banner_is_on_every_staff_page_while_credits_are_low(shops, staff, ctx):
    ctx.clock = SettableClock(at(2026, 11, 10))
    low = shops.create(plan="starter", started=date(2026, 8, 1), time_zone=ZONE)
    ticket = low.ticket(low.customer()["id"])["id"]  # 1 credit
    text_costing(low, ticket, 12)  # 12 left of 25: under the threshold of 15, the alert is recorded
    ok = shops.create(plan="starter", started=date(2026, 8, 1), time_zone=ZONE)
    ok_ticket = ok.ticket(ok.customer()["id"])["id"]
    web, fine = staff(low), staff(ok)
    for path in STAFF_PAGES:
        page = web.get(path.format(ticket=ticket)).text
        banner = re.search(r'<aside class="credit-alert" id="credit-alert" aria-label="Credit alert">(.*?)</aside>',
                           page, re.S)
        assert banner, path
        assert "Only 12 credits left this month" in banner.group(1)
        assert '<a href="/credits">See credits and add-on packs</a>' in banner.group(1)
        assert 'id="credit-alert"' not in fine.get(path.format(ticket=ok_ticket)).text, path

    confirm = web.get("/credits/addons/confirm").text
    web.follow(web.submit("/credits/addons", purchase_key=PURCHASE_KEY.search(confirm).group(1)))
    assert 'id="credit-alert"' not in web.get("/tickets").text  # 2,512 left: no longer low

    text_costing(ok, ok_ticket, 10)  # 14 left: this shop is low now
    assert "Only 14 credits left" in fine.get("/tickets").text
    ctx.clock.set(at(2026, 12, 1))  # a new month's allowance: last month's alert is over
    assert 'id="credit-alert"' not in staff(ok).get("/tickets").text


def test_the_banner_costs_each_page_one_primary_key_read(shops, staff, ctx):
    ctx.clock = SettableClock(at(2026, 11, 10))
    shop = shops.create(plan="starter", started=date(2026, 8, 1), time_zone=ZONE)
    text_costing(shop, shop.ticket(shop.customer()["id"])["id"], 12)
    web = staff(shop)
    web.get("/tickets")  # warm: the sign-in's own statements are done
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engines = {ctx.db.engine, ctx.db.read_sessions.kw["bind"]}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        page = web.get("/tickets")
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert 'id="credit-alert"' in page.text
    credit_reads = [s for s in statements if "credit_balances" in s]
    assert len(credit_reads) == 1 and "credit_balances.shop_id = " in credit_reads[0]
    assert not [s for s in statements if "credit_ledger" in s or " alerts" in s]


def test_a_range_from_mid_month_carries_in_what_the_month_used_before_it(shops, staff, ctx):
    shop = shop_with_usage(ctx, shops)  # 12 credits on Nov 2, 10 on Nov 5
    page = staff(shop).http.get("/credits", params={"from": "2026-11-03", "to": "2026-11-05"}).text
    columns = re.findall(r'<g class="chart-bar" data-date="([\d-]+)" data-used="(\d+)" data-monthly-to-date="(\d+)"',
                         page)
    assert columns == [("2026-11-03", "0", "12"), ("2026-11-04", "0", "12"), ("2026-11-05", "10", "22")]


def test_only_owners_buy_add_on_packs(shops, staff):
    shop = shops.create(started=date.today() - timedelta(days=40))
    clerk = shops.staff_account(shop.id, name="Sam Clerk")
    web = staff(shop, email=clerk.email)
    page = web.get("/credits").text
    assert re.search(r'<button type="submit" class="button button-primary" disabled aria-describedby="addon-when">', page)
    assert "Only your shop's owners can buy add-on packs." in page
    confirm = web.get("/credits/addons/confirm").text
    assert "purchase_key" not in confirm and "Only your shop's owners can buy add-on packs" in confirm
    refused = web.submit("/credits/addons", purchase_key="k" * 32)
    assert refused.status_code == 403 and "Only owners can do this" in refused.text
    assert shop.credits()["addon_remaining"] == 0

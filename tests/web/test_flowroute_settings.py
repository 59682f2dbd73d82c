"""Switching a shop to its own Flowroute account: the settings page lists what is still missing (access key,
secret key, one of the account's numbers), and the switch, through the page or PATCH /api/v1/shop, is refused
with an error on each missing field until all three are saved."""

from __future__ import annotations

import re

import pytest
from support.shops import fresh_number
from test_browser import browser, sign_in  # noqa: F401  (the module's Chromium fixture)

NEEDS = ["flowroute_access_key", "flowroute_secret_key", "numbers"]


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


def test_the_api_refuses_the_switch_naming_each_missing_field(shops):
    shop = shops.create()
    own = fresh_number()

    nothing = shop.api.patch("/api/v1/shop", json={"provider": "flowroute"})
    assert _fields(nothing) == ["provider", *NEEDS]
    assert "access key, your Flowroute secret key and at least one number" in nothing.json()["errors"][0]["message"]
    keys_only = shop.api.patch("/api/v1/shop", json={"provider": "flowroute", "flowroute_access_key": "fr-key",
                                                     "flowroute_secret_key": "fr-secret"})
    assert _fields(keys_only) == ["provider", "numbers"]
    # The built-in number is the operator's: Flowroute cannot send from it, so it does not count.
    built_in = shop.api.patch("/api/v1/shop", json={"provider": "flowroute", "flowroute_access_key": "fr-key",
                                                    "flowroute_secret_key": "fr-secret", "numbers": [shop.number]})
    assert _fields(built_in) == ["provider", "numbers"]
    after = shop.api.get("/api/v1/shop").json()
    assert after["provider"] == "twilio" and after["flowroute_secret_key_set"] is False  # a refusal saves nothing

    switched = shop.api.patch("/api/v1/shop", json={"provider": "flowroute", "flowroute_access_key": "fr-key",
                                                    "flowroute_secret_key": "fr-secret", "numbers": [shop.number, own]})
    assert switched.status_code == 200 and switched.json()["provider"] == "flowroute", switched.text

    # On Flowroute, taking away what it needs is refused the same way; other settings still save.
    assert _fields(shop.api.patch("/api/v1/shop", json={"numbers": [shop.number]})) == ["provider", "numbers"]
    assert _fields(shop.api.patch("/api/v1/shop", json={"flowroute_access_key": ""})) == ["provider", "flowroute_access_key"]
    assert shop.api.patch("/api/v1/shop", json={"time_zone": "America/Denver"}).status_code == 200
    final = shop.api.get("/api/v1/shop").json()
    assert final["provider"] == "flowroute" and own in final["numbers"] and final["flowroute_access_key"] == "fr-key"
    assert shop.api.patch("/api/v1/shop", json={"provider": "twilio"}).json()["provider"] == "twilio"


def _missing_list(html: str) -> list[str]:
    block = re.search(r'<div class="callout[^"]*" id="flowroute-needs">(.*?)</div>', html, re.S)
    return re.findall(r'<li><a href="#([a-z_]+)">', block.group(1)) if block else []


def _form(shop, **fields) -> dict:
    return {"provider": "twilio", "flowroute_access_key": "", "flowroute_secret_key": "", "numbers": shop.number,
            "time_zone": "America/Chicago", "quiet_start": "21:00", "quiet_end": "08:00", **fields}


def test_the_settings_page_lists_what_flowroute_still_needs_and_names_each_missing_field(shops, staff):
    shop = shops.create()
    web = staff(shop)
    page = web.get("/settings").text
    assert _missing_list(page) == NEEDS
    assert 'aria-describedby="flowroute-needs"' in page  # read out with the Flowroute choice
    for field in NEEDS:
        assert f'id="{field}"' in page  # each item links to its field

    refused = web.submit("/settings", **_form(shop, provider="flowroute"))
    assert refused.status_code == 422
    for field in ["provider", *NEEDS]:
        assert f'id="{field}-error"' in refused.text, field
    assert re.search(r'id="flowroute_access_key-error"[^>]*>add your Flowroute access key', refused.text)
    assert re.search(r'id="numbers-error"[^>]*>add at least one number of your Flowroute account', refused.text)
    assert shop.api.get("/api/v1/shop").json()["provider"] == "twilio"

    # Keys saved while staying on the built-in account: only the number is left on the list.
    saved = web.follow(web.submit("/settings", **_form(shop, flowroute_access_key="fr-key",
                                                       flowroute_secret_key="fr-secret")))
    assert "Settings saved." in saved.text and _missing_list(saved.text) == ["numbers"]
    only_number = web.submit("/settings", **_form(shop, provider="flowroute", flowroute_access_key="fr-key"))
    assert only_number.status_code == 422 and 'id="numbers-error"' in only_number.text
    assert 'id="flowroute_access_key-error"' not in only_number.text and 'id="flowroute_secret_key-error"' not in only_number.text

    own = fresh_number()
    switched = web.follow(web.submit("/settings", **_form(shop, provider="flowroute", flowroute_access_key="fr-key",
                                                          numbers=f"{shop.number}\n{own}")))
    assert "Settings saved." in switched.text and 'id="flowroute-needs"' not in switched.text
    assert shop.api.get("/api/v1/shop").json()["provider"] == "flowroute"


@pytest.mark.browser
def test_the_refused_switch_reads_at_390_px_without_sideways_scroll(browser, shops, live_server):  # noqa: F811
    from playwright.sync_api import expect

    shop = shops.create()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = sign_in(context, live_server.url, shop)
    page.goto(f"{live_server.url}/settings")
    page.get_by_label("Your own Flowroute account", exact=False).check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#flowroute_secret_key-error")).to_contain_text("add your Flowroute secret key")
    expect(page.get_by_label("Flowroute access key")).to_have_attribute("aria-invalid", "true")
    page.get_by_role("link", name="Your Flowroute access key").click()  # the list leads to the field
    assert page.evaluate("location.hash") == "#flowroute_access_key"
    widths = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert widths[0] <= widths[1], widths  # the API keys table scrolls in its own box, not the page
    context.close()

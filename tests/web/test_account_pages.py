"""Templates, credits, settings and the triage inbox, through their pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from support.shops import fresh_number


def _error_block(html: str) -> str:
    match = re.search(r'class="field-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else ""


def test_a_broken_template_is_refused_with_its_line_and_problem(shops, staff):
    shop = shops.create()
    web = staff(shop)
    page = web.get("/templates").text
    for label in ("Initial Problem", "Status: Ready for Pickup", "Status: Waiting for Parts"):
        assert f">{label}</h2>" in page

    bad = web.submit("/templates/save", trigger="status:Ready for Pickup",
                     body="Hi {{ customer.first_name }},\nyour {{ ticket.colour }} phone is ready")
    assert bad.status_code == 422
    assert _error_block(bad.text).startswith("line 2: unknown variable &#39;ticket.colour&#39;")
    assert "your {{ ticket.colour }} phone is ready</textarea>" in bad.text  # the draft is kept
    assert "ready for pickup at" in shop.api.get("/api/v1/templates").text  # the saved one is untouched

    saved = web.follow(web.submit("/templates/save", trigger="status:In Progress",
                                  body="{{ customer.first_name }}, we started on #{{ ticket.number }}."))
    assert "Saved the Status: In Progress text." in saved.text
    assert [t["body"] for t in shop.api.get("/api/v1/templates").json() if t["trigger"] == "status:In Progress"] == \
        ["{{ customer.first_name }}, we started on #{{ ticket.number }}."]


def test_a_template_bomb_is_refused_on_the_page_before_it_runs(shops, staff):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    web = staff(shop)
    bomb = "{{ 'aaaaaaaaaa'" + " | replace: 'a', 'aaaaaaaaaa'" * 8 + " }}"
    for path in ("/templates/save", "/templates/preview"):
        r = web.submit(path, trigger="initial_problem", body=bomb, ticket_id=str(ticket["id"]))
        assert r.status_code == 422 and r.elapsed.total_seconds() < 1.0
        assert _error_block(r.text).startswith("line 1: &#39;replace&#39; can produce more than 40,000 characters")
    assert "has repair #{{ ticket.number }}" in shop.api.get("/api/v1/templates").text  # the saved one is untouched


def test_preview_renders_a_draft_for_a_ticket_with_its_cost(shops, staff):
    shop = shops.create(name="Fix-It")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Cracked screen")
    web = staff(shop)
    preview = web.submit("/templates/preview", trigger="initial_problem", ticket_id=str(ticket["id"]),
                         body="Hi {{ customer.first_name }}, {{ shop.name }} got #{{ ticket.number }} 👍")
    assert preview.status_code == 200
    assert "Preview for ticket #1" in preview.text and "Hi Jane, Fix-It got #1 👍" in preview.text
    assert "UCS-2 · 1 segment · 1 credit" in preview.text


def test_credits_page_shows_balances_and_refuses_an_early_add_on_with_the_date(shops, staff):
    shop = shops.create(plan="starter", started=date.today())
    web = staff(shop)
    page = web.get("/credits").text
    assert "Starter plan" in page and '25 <span class="stat-of">of 25</span>' in page
    assert "Credits are running low" not in page

    refused = web.follow(web.submit("/credits/addons"))
    opens = (date.today() + timedelta(days=30)).isoformat()
    assert f"Add-on packs can be bought from {opens}" in refused.text and 'class="flash flash-error"' in refused.text
    assert shop.credits()["addon_remaining"] == 0


def test_buying_an_add_on_and_the_low_credit_banner(shops, staff, worker):
    shop = shops.create(plan="starter", started=date.today() - timedelta(days=40))
    ticket = shop.ticket(shop.customer()["id"])
    web = staff(shop)
    web.submit(f"/tickets/{ticket['id']}/comments", body="Long update", sms_body="x" * 153 * 12)  # 12 credits
    page = web.get("/credits").text
    assert "Credits are running low." in page  # 25 - 12 (and the Initial Problem text) is under 15
    assert re.search(r'<th scope="row" class="nowrap">\d{4}-\d\d-\d\d</th>\s*<td class="num">\d+</td>', page)

    bought = web.follow(web.submit("/credits/addons"))
    assert "Bought an add-on pack: 2,500 credits for $20.00." in bought.text
    assert shop.credits()["addon_remaining"] == 2500
    assert '<p class="stat-value">2,500</p>' in bought.text


def test_settings_save_never_show_the_secret_and_explain_errors(shops, staff):
    shop = shops.create()
    web = staff(shop)
    page = web.get("/settings").text
    assert f"/webhooks/flowroute/{shop.flowroute_token}/inbound" in page and "/webhooks/twilio/status" in page

    form = {"provider": "flowroute", "flowroute_access_key": "fr-access", "flowroute_secret_key": "s3cr3t-value",
            "numbers": f"{shop.number}\n{fresh_number()}", "time_zone": "America/Denver", "quiet_start": "20:00", "quiet_end": "09:00"}
    saved = web.follow(web.submit("/settings", **form))
    assert "Settings saved." in saved.text and "s3cr3t-value" not in saved.text
    assert "A secret is saved." in saved.text and 'value="fr-access"' in saved.text
    assert 'id="provider-flowroute" name="provider" value="flowroute" checked' in saved.text
    shop_now = shop.api.get("/api/v1/shop").json()
    assert (shop_now["provider"], shop_now["time_zone"], shop_now["quiet_hours"], shop_now["smart_encoding"]) == \
        ("flowroute", "America/Denver", {"start": "20:00", "end": "09:00"}, False)

    # An empty secret box keeps the saved secret; a bad number or zone is named next to its field.
    bad = web.submit("/settings", **{**form, "flowroute_secret_key": "", "numbers": "12345"})
    assert bad.status_code == 422 and "&#39;12345&#39; is not a valid phone number" in _error_block(bad.text)
    assert 'id="numbers-error"' in bad.text and "12345</textarea>" in bad.text
    again = web.follow(web.submit("/settings", **{**form, "flowroute_secret_key": ""}))
    assert "Settings saved." in again.text and shop.api.get("/api/v1/shop").json()["flowroute_secret_key_set"] is True

    zone = web.submit("/settings", **{**form, "time_zone": "Mars/Base"})
    assert zone.status_code == 422 and "is not an IANA time zone" in _error_block(zone.text)


def test_inbox_lists_unplaced_texts_with_the_reason_and_places_them(shops, staff, sim):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Cracked screen")
    stranger = fresh_number()
    sim.post("/_sim/twilio/inbound", {"from": stranger, "to": shop.number, "body": "Is my laptop done?"})
    web = staff(shop)

    inbox = web.get("/inbox").text
    assert "Is my laptop done?" in inbox and "no customer has this number" in inbox
    assert '<span class="count"' in inbox
    message_id = re.search(r'action="/inbox/(\d+)/assign"', inbox).group(1)

    placed = web.submit(f"/inbox/{message_id}/assign", ticket_id=str(ticket["id"]))
    assert placed.headers["location"] == f"/tickets/{ticket['id']}"
    assert "Is my laptop done?" in web.follow(placed).text
    assert "Nothing to sort." in web.get("/inbox").text
    again = web.follow(web.submit(f"/inbox/{message_id}/assign", ticket_id=str(ticket["id"])))
    assert "That text is no longer in the inbox" in again.text


def test_settings_lists_keys_creates_one_shown_once_and_revokes_it(shops, staff, live_server):
    shop = shops.create()
    web = staff(shop)
    page = web.get("/settings").text
    assert "API keys" in page and "First key" in page and shop.api_key not in page

    refused = web.submit("/settings/api-keys", key_name="  ")
    assert refused.status_code == 422 and "give the key a name" in refused.text

    created = web.submit("/settings/api-keys", key_name="Ticket system")
    assert created.status_code == 200
    new_key = re.search(r'id="new-api-key">([^<]+)<', created.text).group(1)
    assert "not shown again" in created.text and "rt_session" not in created.headers.get("set-cookie", "")
    assert new_key not in web.get("/settings").text  # once only
    with_new = {"Authorization": f"Bearer {new_key}"}
    assert httpx.get(f"{live_server.url}/api/v1/shop", headers=with_new).status_code == 200

    [key_id] = [k["id"] for k in shop.api.get("/api/v1/shop/api-keys").json() if k["name"] == "Ticket system"]
    revoked = web.follow(web.submit(f"/settings/api-keys/{key_id}/revoke"))
    assert "Revoked the key “Ticket system”" in revoked.text
    assert httpx.get(f"{live_server.url}/api/v1/shop", headers=with_new).status_code == 401
    [first_id] = [k["id"] for k in shop.api.get("/api/v1/shop/api-keys").json() if k["name"] == "First key"]
    last = web.follow(web.submit(f"/settings/api-keys/{first_id}/revoke"))
    assert "last working API key" in last.text and shop.api.get("/api/v1/shop").status_code == 200

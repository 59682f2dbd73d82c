"""Templates are checked when saved (422 naming the line); shop settings validate and never return secrets."""

from __future__ import annotations


def test_template_errors_name_the_line_and_the_problem(shops):
    shop = shops.create()
    cases = {
        "Hi {{ customer.first_name }}\n{% if %}": "line 2",
        "Hi\nthere\n{{ customer.nickname }}": "line 3: unknown variable 'customer.nickname'",
        "{{ shop.name | shout }}": "unknown filter 'shout'",
        "{% include 'secrets.txt' %}": "line 1",
    }
    for body, expected in cases.items():
        r = shop.api.put("/api/v1/templates/status:Resolved", json={"body": body})
        assert r.status_code == 422, body
        [error] = r.json()["errors"]
        assert error["field"] == "body" and expected in error["message"], (body, error)
    r = shop.api.put("/api/v1/templates/status:Nonexistent", json={"body": "hi"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "trigger"
    # Nothing of the above was saved: the default stands.
    listed = {t["trigger"]: t for t in shop.api.get("/api/v1/templates").json()}
    assert listed["status:Resolved"]["is_default"] is True
    assert listed["status:In Progress"]["body"] is None
    assert set(listed) >= {"initial_problem", "status:New", "status:Ready for Pickup", "status:Resolved"}


def test_templates_that_could_run_away_are_refused_before_they_run(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    runaway = {
        "{{ (1..100000000) | join: ',' | size }}": "ranges like (1..100000000) are not allowed",
        "{% for c in shop.name %}{% assign s = s | append: s %}{% endfor %}": "unexpected tag 'for'",
        "Hi\n{% assign x = 1 %}": "line 2: unexpected tag 'assign'",
    }
    for body, expected in runaway.items():
        for r in (shop.api.post("/api/v1/templates/preview", json={"body": body, "ticket_id": ticket["id"]}),
                  shop.api.put("/api/v1/templates/status:Resolved", json={"body": body})):
            assert r.status_code == 422 and expected in r.json()["detail"], (body, r.text)
    ok = "{% if ticket.status == 'New' %}Got it{% else %}{{ ticket.status | downcase }}{% endif %}, {{ customer.first_name }}"
    r = shop.api.post("/api/v1/templates/preview", json={"body": ok, "ticket_id": ticket["id"]})
    assert r.status_code == 200 and r.json()["text"].startswith("Got it, ")


def test_shop_settings_validate_and_hide_secrets(shops):
    shop = shops.create()
    r = shop.api.patch("/api/v1/shop", json={"provider": "flowroute"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "provider"
    r = shop.api.patch("/api/v1/shop", json={"time_zone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"
    r = shop.api.patch("/api/v1/shop", json={"numbers": ["12"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "numbers[0]"
    other = shops.create(name="Other")
    r = shop.api.patch("/api/v1/shop", json={"numbers": [other.number]})
    assert r.status_code == 422 and r.json()["errors"][0]["message"].endswith("is not available; if the number is yours, contact support")
    assert "another shop" not in r.text, r.text
    r = shop.api.patch("/api/v1/shop", json={"flowroute_access_key": "k", "flowroute_secret_key": "s3cret",
                                             "quiet_hours": {"start": "22:00", "end": "07:30"}})
    body = r.json()
    assert r.status_code == 200 and "s3cret" not in r.text and body["flowroute_secret_key_set"] is True
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert body["webhooks"]["flowroute_inbound"].endswith(f"/webhooks/flowroute/{shop.flowroute_token}/inbound")


def test_flowroute_secret_is_encrypted_at_rest(shops, ctx):
    from repairtext.adapters.db.models import Shop

    shop = shops.create()
    shop.api.patch("/api/v1/shop", json={"flowroute_access_key": "k", "flowroute_secret_key": "s3cret-value"})
    with ctx.db.transaction() as session:
        stored = session.get(Shop, shop.id).flowroute_secret_encrypted
    assert "s3cret-value" not in stored and ctx.secrets.open(stored) == "s3cret-value"

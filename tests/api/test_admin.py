"""The operator's endpoints exist only with REPAIRTEXT_ADMIN_TOKEN, and only for that token."""

from __future__ import annotations

import dataclasses

import httpx


def test_operator_creates_a_shop_that_can_use_the_api(ctx, app, live_server):
    url = live_server.url
    assert httpx.post(f"{url}/api/v1/admin/shops", json={}).status_code == 404      # no token configured
    ctx.settings = dataclasses.replace(ctx.settings, admin_token="op-secret")
    assert httpx.get(f"{url}/api/v1/admin/shops", headers={"Authorization": "Bearer nope"}).status_code == 401
    op = {"Authorization": "Bearer op-secret"}
    bad = httpx.post(f"{url}/api/v1/admin/shops", headers=op, json={"name": "A", "plan": "gold", "numbers": ["+12065550100"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "plan"
    r = httpx.post(f"{url}/api/v1/admin/shops", headers=op,
                   json={"name": "Acme", "plan": "big_chain", "numbers": ["(206) 555-0100"], "time_zone": "America/Denver"})
    assert r.status_code == 201, r.text
    created = r.json()
    shop = httpx.get(f"{url}/api/v1/shop", headers={"Authorization": f"Bearer {created['api_key']}"}).json()
    assert shop["numbers"] == ["+12065550100"] and shop["plan"] == "big_chain" and shop["time_zone"] == "America/Denver"
    listed = httpx.get(f"{url}/api/v1/admin/shops", headers=op).json()
    assert [(s["name"], s["monthly_remaining"]) for s in listed] == [("Acme", 1000)]
    assert httpx.get(f"{url}/api/v1/admin/credits/check", headers=op).json() == {"ok": True, "problems": []}

"""API keys: created with the secret shown once, listed without it, revoked at once in every process."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import select
from support.live import LiveServer

from repairtext.adapters.db.models import ApiKey
from repairtext.bootstrap import build_context
from repairtext.entrypoints.app import create_app


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def second_process(settings):
    """Another server process of the same deployment: its own context, engine and pool, on its own port."""
    server = LiveServer().start()
    context = build_context(dataclasses.replace(settings, public_url=server.url))
    server.serve(create_app(context, inline_worker=False))
    yield server
    server.stop()
    context.close()


def test_a_key_is_shown_once_listed_without_its_secret_and_revoked_at_once_everywhere(shops, live_server,
                                                                                      second_process):
    shop = shops.create()
    created = shop.api.post("/api/v1/shop/api-keys", json={"name": "Front desk"})
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["key"].startswith(new["prefix"] + "_") and new["name"] == "Front desk" and new["revoked_at"] is None
    secret = new["key"].split("_", 2)[2]

    listed = shop.api.get("/api/v1/shop/api-keys")
    assert listed.status_code == 200
    assert [k["name"] for k in listed.json()] == ["First key", "Front desk"]
    assert secret not in listed.text and all("key" not in k for k in listed.json())

    # Both processes accept the new key (and have had every chance to cache it) ...
    for base in (live_server.url, second_process.url):
        assert httpx.get(f"{base}/api/v1/shop", headers=bearer(new["key"])).status_code == 200
    # ... one process revokes it, and the other refuses it on the very next request.
    revoked = httpx.delete(f"{second_process.url}/api/v1/shop/api-keys/{new['id']}", headers=bearer(shop.api_key))
    assert revoked.status_code == 204
    for base in (live_server.url, second_process.url):
        assert httpx.get(f"{base}/api/v1/shop", headers=bearer(new["key"])).status_code == 401
    assert shop.api.get("/api/v1/shop").status_code == 200  # the other key is untouched
    [listed_new] = [k for k in shop.api.get("/api/v1/shop/api-keys").json() if k["id"] == new["id"]]
    assert listed_new["revoked_at"] is not None
    assert listed_new["last_used_at"] is not None  # it was used before it was revoked


def test_another_shops_key_answers_404_and_stays_working(shops, live_server):
    a, b = shops.create(name="A"), shops.create(name="B")
    b_spare = b.api.post("/api/v1/shop/api-keys", json={"name": "spare"}).json()
    [b_first] = [k for k in b.api.get("/api/v1/shop/api-keys").json() if k["name"] == "First key"]

    for key_id in (b_first["id"], b_spare["id"], 10**6):
        assert a.api.delete(f"/api/v1/shop/api-keys/{key_id}").status_code == 404
    assert b.api.get("/api/v1/shop").status_code == 200
    assert httpx.get(f"{live_server.url}/api/v1/shop", headers=bearer(b_spare["key"])).status_code == 200
    assert [k["name"] for k in a.api.get("/api/v1/shop/api-keys").json()] == ["First key"]


def test_the_last_working_key_cannot_be_revoked_and_revoking_twice_is_harmless(shops, ctx, live_server):
    shop = shops.create()
    [first] = shop.api.get("/api/v1/shop/api-keys").json()
    refused = shop.api.delete(f"/api/v1/shop/api-keys/{first['id']}")
    assert refused.status_code == 409 and "last working API key" in refused.json()["detail"]
    assert shop.api.get("/api/v1/shop").status_code == 200

    spare = shop.api.post("/api/v1/shop/api-keys", json={"name": "spare"}).json()
    # Rotation: the key in use may revoke itself once another works.
    assert shop.api.delete(f"/api/v1/shop/api-keys/{first['id']}").status_code == 204
    assert shop.api.get("/api/v1/shop").status_code == 401
    with_spare = httpx.Client(base_url=live_server.url, headers=bearer(spare["key"]))
    assert with_spare.delete(f"/api/v1/shop/api-keys/{first['id']}").status_code == 204  # again: no change
    with ctx.db.transaction() as session:
        revoked_at = session.scalars(select(ApiKey.revoked_at).where(ApiKey.shop_id == shop.id)
                                     .order_by(ApiKey.id)).all()
    assert revoked_at[0] is not None and revoked_at[1] is None
    assert with_spare.delete(f"/api/v1/shop/api-keys/{spare['id']}").status_code == 409


@pytest.mark.parametrize("body, field", [({"name": ""}, "name"), ({}, "name"), ({"name": "x" * 81}, "name"),
                                         ({"name": "ok", "secret": "mine"}, "secret")])
def test_a_bad_create_names_the_field_and_makes_no_key(shops, body, field):
    shop = shops.create()
    response = shop.api.post("/api/v1/shop/api-keys", json=body)
    assert response.status_code == 422 and field in [e["field"] for e in response.json()["errors"]]
    assert len(shop.api.get("/api/v1/shop/api-keys").json()) == 1


def test_a_blank_name_is_refused(shops):
    shop = shops.create()
    response = shop.api.post("/api/v1/shop/api-keys", json={"name": "   "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"

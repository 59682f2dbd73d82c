"""The foundation through the real HTTP API: customers, tickets, comments, errors that name the field."""

from __future__ import annotations

import httpx


def test_create_customer_normalizes_phones_to_e164(shops):
    shop = shops.create()
    customer = shop.customer("Jane Cooper", phones=[{"number": "(206) 555-0134", "type": "mobile"},
                                                    {"number": "1 206 555 0112", "type": "work"}],
                             email="jane@example.com")
    assert customer["phones"] == [{"number": "+12065550134", "type": "mobile"},
                                  {"number": "+12065550112", "type": "work"}]
    assert customer["sms_enabled"] is True and customer["opted_out_at"] is None
    fetched = shop.api.get(f"/api/v1/customers/{customer['id']}").json()
    assert fetched == customer


def test_ticket_numbers_are_sequential_per_shop_and_have_a_portal(shops):
    a, b = shops.create(name="A"), shops.create(name="B")
    ca, cb = a.customer(), b.customer()
    first, second = a.ticket(ca["id"]), a.ticket(ca["id"])
    other = b.ticket(cb["id"])
    assert (first["number"], second["number"], other["number"]) == (1, 2, 1)
    assert first["status"] == "New"
    portal = httpx.get(first["portal_url"])
    assert portal.status_code == 200 and "Cracked screen" in portal.text


def test_comments_keep_body_and_sms_apart(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    response = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments",
                             json={"body": "Long email text for the record", "sms_body": "Parts arrived!"})
    assert response.status_code == 201
    comment = response.json()
    assert comment["body"] == "Long email text for the record" and comment["sms_body"] == "Parts arrived!"
    assert comment["public"] is True and comment["author"] == "staff"
    hidden = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "internal", "hidden": True})
    assert hidden.json()["public"] is False


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_bad_inputs_name_the_field_and_write_nothing(shops, ctx):
    from sqlalchemy import func, select

    from repairtext.adapters.db.models import Customer

    shop = shops.create()
    cases = [
        ({"name": "X", "phones": [{"number": "not a phone", "type": "mobile"}]}, "phones[0].number"),
        ({"name": "X", "phones": [{"number": "2065550134", "type": "pager"}]}, "phones[0].type"),
        ({"name": "X" * 201}, "name"),
        ({"name": "X", "email": "nope"}, "email"),
        ({"name": "X", "favourite_colour": "red"}, "favourite_colour"),
    ]
    for body, field in cases:
        problem = _problem(shop.api.post("/api/v1/customers", json=body), 422)
        assert field in [e["field"] for e in problem["errors"]], (body, problem)
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0

    problem = _problem(shop.api.post("/api/v1/tickets", json={"customer_id": 999, "subject": "x"}), 422)
    assert problem["errors"][0]["field"] == "customer_id"
    problem = _problem(shop.api.post("/api/v1/tickets", json={"customer_id": 1, "subject": "x" * 201}), 422)
    assert problem["errors"][0]["field"] == "subject"


def test_unknown_status_is_refused_with_the_choices(shops):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    problem = _problem(shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Lost"}), 422)
    assert problem["errors"][0]["field"] == "status" and "Ready for Pickup" in problem["detail"]


def test_missing_or_wrong_api_key_is_401(shops, live_server):
    shops.create()
    assert _problem(httpx.get(f"{live_server.url}/api/v1/shop"), 401)["status"] == 401
    bad = httpx.get(f"{live_server.url}/api/v1/shop", headers={"Authorization": "Bearer rt_abc_def"})
    assert _problem(bad, 401)["status"] == 401

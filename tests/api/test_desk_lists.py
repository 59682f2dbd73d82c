"""GET /api/v1/tickets and /customers: most recent activity first, needs-reply, search by number, subject, name
and a phone written any way, keyset cursors that never repeat or skip a row, and only the shop's own rows."""

from __future__ import annotations

from support.inbound import customer_with_number, open_shop, phone_of, twilio_text
from support.shops import fresh_number


def listed(shop, **params) -> dict:
    response = shop.api.get("/api/v1/tickets", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def numbers(page: dict) -> list[int]:
    return [t["number"] for t in page["items"]]


def test_a_reply_brings_the_oldest_ticket_to_the_top_and_marks_it(shops, sim):
    shop = open_shop(shops)
    first = customer_with_number(shop, name="Ana Ruiz")
    oldest = shop.ticket(first["id"], subject="Pixel 8 screen")
    others = [shop.ticket(customer_with_number(shop, name=f"Customer {i}")["id"]) for i in range(3)]
    assert numbers(listed(shop)) == [t["number"] for t in reversed([oldest, *others])]

    twilio_text(sim, shop, phone_of(first), "Is it ready?")
    page = listed(shop)
    assert page["items"][0]["number"] == oldest["number"] and page["items"][0]["needs_reply"] is True
    assert page["items"][0]["customer_name"] == "Ana Ruiz"
    assert numbers(listed(shop, needs_reply="true")) == [oldest["number"]]
    assert oldest["number"] not in numbers(listed(shop, needs_reply="false"))

    hidden = shop.api.post(f"/api/v1/tickets/{oldest['id']}/comments", json={"body": "called her", "hidden": True})
    assert hidden.status_code == 201
    assert numbers(listed(shop, needs_reply="true")) == [oldest["number"]]  # a hidden note is no answer
    shop.api.post(f"/api/v1/tickets/{oldest['id']}/comments", json={"body": "Yes, come by after 3"})
    assert listed(shop, needs_reply="true")["items"] == []


def test_search_by_number_subject_name_and_phone_in_any_format(shops):
    shop = open_shop(shops)
    number = fresh_number()
    ana = customer_with_number(shop, number, name="Ana Ruiz")
    screen = shop.ticket(ana["id"], subject="Cracked SCREEN on a Pixel")
    battery = shop.ticket(customer_with_number(shop, name="Bo Chen")["id"], subject="Battery 50%_drain")
    national = f"({number[2:5]}) {number[5:8]}-{number[8:]}"

    assert numbers(listed(shop, q=f"#{screen['number']}")) == [screen["number"]]
    assert numbers(listed(shop, q=str(battery["number"]))) == [battery["number"]]
    assert numbers(listed(shop, q="screen")) == [screen["number"]]
    assert numbers(listed(shop, q="ruiz")) == [screen["number"]]
    assert numbers(listed(shop, q=national)) == [screen["number"]]
    assert numbers(listed(shop, q=number[2:])) == [screen["number"]]
    assert numbers(listed(shop, q="50%_")) == [battery["number"]]
    assert numbers(listed(shop, q="%_d")) == [battery["number"]]  # the user's % is a character, not a wildcard
    assert listed(shop, q="Cracked%Pixel")["items"] == []
    assert numbers(listed(shop, q="screen", open="false")) == []
    assert numbers(listed(shop, status="New", q="bo chen")) == [battery["number"]]


def test_cursors_walk_every_ticket_once(shops):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    made = [shop.ticket(customer["id"], subject=f"Device {i}")["number"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        page = listed(shop, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += numbers(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == list(reversed(made))

    bad = shop.api.get("/api/v1/tickets", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    assert shop.api.get("/api/v1/tickets", params={"limit": 1000}).status_code == 422


def test_lists_show_only_the_shops_own_rows(shops):
    shop, other = open_shop(shops), open_shop(shops)
    theirs = customer_with_number(other, name="Secret Person")
    other.ticket(theirs["id"], subject="secret subject")
    assert listed(shop)["items"] == [] and listed(shop, q="secret")["items"] == []
    assert listed(shop, customer_id=theirs["id"])["items"] == []
    assert shop.api.get("/api/v1/customers", params={"q": "secret"}).json()["items"] == []


def test_customers_by_name_or_phone_with_cursors(shops):
    shop = open_shop(shops)
    number = fresh_number()
    for name in ("Zoe Park", "ana ruiz", "Bo Chen", "Ana Alvarez"):
        customer_with_number(shop, number if name == "Bo Chen" else None, name=name)
    page = shop.api.get("/api/v1/customers", params={"q": "ana"}).json()
    assert sorted(c["name"] for c in page["items"]) == ["Ana Alvarez", "ana ruiz"]
    by_phone = shop.api.get("/api/v1/customers", params={"q": f"1-{number[2:5]}-{number[5:8]}-{number[8:]}"}).json()
    assert [c["name"] for c in by_phone["items"]] == ["Bo Chen"]
    names, cursor = [], None
    while True:
        page = shop.api.get("/api/v1/customers", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        names += [c["name"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(names) == 4 and len(set(names)) == 4

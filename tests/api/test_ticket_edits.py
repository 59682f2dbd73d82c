"""PATCH /api/v1/tickets/{id} edits a ticket: subject, problem and customer (of the same shop only), with or
without a status, each optional, checked before anything changes, one ticket.updated event."""

from __future__ import annotations

from sqlalchemy import select

from repairtext.adapters.db.models import Event


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def _ticket_events(ctx, ticket_id: int) -> list[str]:
    with ctx.db.reading() as session:
        return list(session.scalars(select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)))


def test_subject_problem_and_customer_change_and_the_ticket_says_when(shops, ctx):
    shop = shops.create()
    jane, marcus = shop.customer("Jane Cooper"), shop.customer("Marcus Lee")
    ticket = shop.ticket(jane["id"], subject="iPhone 14 screen", problem="Cracked")
    before = _ticket_events(ctx, ticket["id"])

    edited = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={
        "subject": "  iPhone 14 Pro screen ", "problem": "Cracked top left; Face ID works", "customer_id": marcus["id"]})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["subject"], body["problem"], body["customer_id"]) == (
        "iPhone 14 Pro screen", "Cracked top left; Face ID works", marcus["id"])
    assert body["updated_at"] > ticket["updated_at"]
    assert body["last_activity_at"] == ticket["last_activity_at"]  # an edit is not activity on the desk
    assert body["status"] == "New" and body["number"] == ticket["number"]
    assert shop.api.get(f"/api/v1/tickets/{ticket['id']}").json() == body
    assert _ticket_events(ctx, ticket["id"])[len(before):].count("ticket.updated") == 1
    notes = [c["body"] for c in shop.comments(ticket["id"]) if c["author"] == "system"]
    assert [n for n in notes if n.startswith("Moved from Jane Cooper to Marcus Lee by ")], notes  # the key's name

    # The desk follows: the ticket is Marcus's now.
    listed = shop.api.get("/api/v1/tickets", params={"customer_id": marcus["id"]}).json()["items"]
    assert [t["id"] for t in listed] == [ticket["id"]]
    assert shop.api.get("/api/v1/tickets", params={"customer_id": jane["id"]}).json()["items"] == []


def test_each_field_is_optional_and_the_status_still_works(shops, ctx):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"], subject="Battery", problem="Drains")
    only_problem = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"problem": ""}).json()
    assert (only_problem["subject"], only_problem["problem"]) == ("Battery", "")

    moved = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "In Progress", "subject": "Battery swap"})
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["subject"]) == ("In Progress", "Battery swap")
    assert moved.json()["last_activity_at"] > ticket["last_activity_at"]  # a status change is activity

    events_before = _ticket_events(ctx, ticket["id"])
    unchanged = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={})
    assert unchanged.status_code == 200 and unchanged.json() == moved.json()
    assert _ticket_events(ctx, ticket["id"]) == events_before  # nothing changed, nothing to tell


def test_the_status_template_goes_to_the_customer_the_ticket_now_belongs_to(shops, worker):
    shop = shops.create()
    jane, marcus = shop.customer("Jane Cooper"), shop.customer("Marcus Lee")
    ticket = shop.ticket(jane["id"], subject="Pixel 8")
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"customer_id": marcus["id"], "status": "Ready for Pickup",
                                                             "subject": "Pixel 8 Pro"})
    ready = [m for m in shop.messages(ticket_id=ticket["id"]) if m["trigger"] == "status:Ready for Pickup"]
    assert len(ready) == 1
    assert ready[0]["to"] == marcus["phones"][0]["number"] and "Marcus" in ready[0]["body"]


def test_bad_edits_name_the_field_and_change_nothing(shops):
    shop, other = shops.create(name="A"), shops.create(name="B")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Screen")
    theirs = other.customer("Their customer")
    url = f"/api/v1/tickets/{ticket['id']}"
    cases = [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": None}, "subject"),
        ({"problem": "x" * 10_001}, "problem"),
        ({"customer_id": 0}, "customer_id"),
        ({"customer_id": 2**63}, "customer_id"),
        ({"customer_id": 999_999}, "customer_id"),
        ({"customer_id": theirs["id"]}, "customer_id"),  # another shop's customer is no customer of ours
        ({"customer_id": theirs["id"], "subject": "Moved"}, "customer_id"),
        ({"status": "Lost", "subject": "Renamed"}, "status"),
        ({"owner": "me"}, "owner"),
    ]
    for body, field in cases:
        problem = _problem(shop.api.patch(url, json=body), 422)
        assert [e["field"] for e in problem["errors"]] == [field], (body, problem)
    after = shop.api.get(url).json()
    assert (after["subject"], after["customer_id"], after["updated_at"]) == (
        "Screen", ticket["customer_id"], ticket["updated_at"])
    assert other.api.get(f"/api/v1/customers/{theirs['id']}").json()["name"] == "Their customer"


def test_another_shops_ticket_cannot_be_edited_or_given_our_customer(shops):
    shop, other = shops.create(name="A"), shops.create(name="B")
    ours = shop.customer("Ours")
    theirs = other.ticket(other.customer("Theirs")["id"], subject="Their ticket")
    for body in ({"subject": "Hacked"}, {"customer_id": ours["id"]}, {"problem": "x"}):
        _problem(shop.api.patch(f"/api/v1/tickets/{theirs['id']}", json=body), 404)
    after = other.api.get(f"/api/v1/tickets/{theirs['id']}").json()
    assert (after["subject"], after["customer_id"], after["problem"]) == (
        "Their ticket", theirs["customer_id"], theirs["problem"])
    assert shop.api.get("/api/v1/tickets", params={"customer_id": ours["id"]}).json()["items"] == []


def test_a_repeated_edit_with_its_idempotency_key_answers_the_first_result(shops):
    shop = shops.create()
    jane, marcus = shop.customer("Jane"), shop.customer("Marcus")
    ticket = shop.ticket(jane["id"])
    headers = {"Idempotency-Key": "edit-1"}
    first = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"customer_id": marcus["id"]}, headers=headers)
    again = shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"customer_id": marcus["id"]}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    notes = [c["body"] for c in shop.comments(ticket["id"]) if c["author"] == "system"]
    assert len([n for n in notes if n.startswith("Moved from Jane to Marcus")]) == 1

"""Shop A can neither read nor change anything of shop B's: another shop's id answers 404, never 403."""

from __future__ import annotations


def test_every_endpoint_hides_other_shops(shops):
    a, b = shops.create(name="A"), shops.create(name="B")
    customer = b.customer()
    ticket = b.ticket(customer["id"])
    b.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "secret"})

    attempts = [
        a.api.get(f"/api/v1/customers/{customer['id']}"),
        a.api.patch(f"/api/v1/customers/{customer['id']}", json={"name": "Hacked"}),
        a.api.get(f"/api/v1/tickets/{ticket['id']}"),
        a.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Resolved"}),
        a.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"subject": "Hacked", "problem": "x"}),
        a.api.get(f"/api/v1/tickets/{ticket['id']}/comments"),
        a.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "hi", "sms_body": "hi"}),
        a.api.post("/api/v1/templates/preview", json={"body": "x", "ticket_id": ticket["id"]}),
    ]
    for response in attempts:
        assert response.status_code in (404, 422), (response.request.url, response.status_code, response.text)
    assert a.api.post("/api/v1/tickets", json={"customer_id": customer["id"], "subject": "x"}).status_code == 422
    own = a.ticket(a.customer("A's own")["id"])
    taken = a.api.patch(f"/api/v1/tickets/{own['id']}", json={"customer_id": customer["id"]})
    assert taken.status_code == 422 and [e["field"] for e in taken.json()["errors"]] == ["customer_id"]
    assert a.messages(ticket_id=ticket["id"]) == []
    assert a.api.get("/api/v1/inbox").json() == []

    # Nothing changed on B's side.
    assert b.api.get(f"/api/v1/customers/{customer['id']}").json()["name"] == customer["name"]
    assert b.api.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "New"
    assert b.api.get(f"/api/v1/tickets/{ticket['id']}").json()["subject"] == ticket["subject"]
    assert [c["body"] for c in b.comments(ticket["id"]) if c["author"] == "staff"] == ["secret"]

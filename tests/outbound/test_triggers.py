"""Each trigger end to end: API call -> outbox -> worker -> simulator (From/To/Body) -> receipt -> delivered."""

from __future__ import annotations

from support.shops import eventually


def _delivered(shop, ticket_id):
    def check():
        msgs = [m for m in shop.messages(ticket_id=ticket_id) if m["direction"] == "outbound"]
        return msgs if msgs and all(m["status"] == "delivered" for m in msgs) else None
    return check


def test_initial_problem_text_goes_out_and_is_delivered(shops, sim, worker):
    shop = shops.create(name="Fix-It")
    customer = shop.customer("Jane Cooper")
    ticket = shop.ticket(customer["id"], subject="Cracked screen")
    assert worker.drain() == 1
    [sent] = sim.messages()
    assert sent["from"] == shop.number and sent["to"] == customer["phones"][0]["number"]
    assert "Hi Jane, Fix-It has repair #1 (Cracked screen)." in sent["body"]
    assert ticket["portal_url"] in sent["body"]
    [message] = eventually(_delivered(shop, ticket["id"]))
    assert message["provider_id"] == sent["id"] and message["trigger"] == "initial_problem"
    assert [e["status"] for e in message["status_history"] if e["applied"]][-1] == "delivered"
    assert message["credits"] == message["segments"] >= 1


def test_comment_sms_body_is_texted_and_plain_comment_is_not(shops, sim, worker):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    worker.drain()
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Ordered the screen."})
    worker.drain()
    assert len(sim.messages()) == 1
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments",
                  json={"body": "Detailed email text", "sms_body": "Your screen arrived, fixing it today."})
    worker.drain()
    bodies = [m["body"] for m in sim.messages()]
    assert bodies[-1] == "Your screen arrived, fixing it today." and len(bodies) == 2


def test_status_with_template_texts_and_status_without_does_not(shops, sim, worker):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Marcus Lee")["id"], subject="Battery swap")
    worker.drain()
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "In Progress"})
    worker.drain()
    assert len(sim.messages()) == 1
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Ready for Pickup"})
    worker.drain()
    last = sim.messages()[-1]
    assert last["body"].startswith("Good news Marcus! Ticket #1 (Battery swap) is ready for pickup")
    [status_msg] = [m for m in shop.messages(ticket_id=ticket["id"]) if m["trigger"] == "status:Ready for Pickup"]
    assert status_msg["status"] in ("accepted", "sent", "delivered")


def test_edited_template_is_used_and_an_empty_one_turns_the_text_off(shops, sim, worker):
    shop = shops.create()
    r = shop.api.put("/api/v1/templates/status:In Progress",
                     json={"body": "{{ customer.first_name }}, we started on #{{ ticket.number }}."})
    assert r.status_code == 200, r.text
    assert shop.api.put("/api/v1/templates/initial_problem", json={"body": ""}).status_code == 200
    ticket = shop.ticket(shop.customer("Rosa Diaz")["id"])
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "In Progress"})
    worker.drain()
    assert [m["body"] for m in sim.messages()] == ["Rosa, we started on #1."]


def test_long_text_is_split_into_provider_messages_and_costs_every_segment(shops, sim, worker):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    worker.drain()
    before = shop.credits()["total_remaining"]
    long_text = ("Your repair needs a new logic board; " * 60).strip()   # ~2,200 characters, GSM-7
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": long_text})
    worker.drain()
    parts = [m for m in shop.messages(ticket_id=ticket["id"]) if m["trigger"] == "comment"]
    assert len(parts) == 2 and all(len(p["body"]) <= 1600 for p in parts)
    assert " ".join(p["body"] for p in sorted(parts, key=lambda p: p["part"])) == long_text
    spent = sum(p["credits"] for p in parts)
    assert spent == sum(p["segments"] for p in parts) >= 15
    assert shop.credits()["total_remaining"] == before - spent
    assert len(sim.messages()) == 3


def test_cost_is_shown_before_sending(shops):
    shop = shops.create()
    assert shop.api.post("/api/v1/segments", json={"text": "a" * 160}).json() == {"encoding": "GSM-7", "segments": 1, "credits": 1}
    assert shop.api.post("/api/v1/segments", json={"text": "a" * 161}).json()["segments"] == 2
    assert shop.api.post("/api/v1/segments", json={"text": "Fixed 👍"}).json()["encoding"] == "UCS-2"
    # Smart encoding (on by default) keeps curly quotes at GSM-7 prices.
    assert shop.api.post("/api/v1/segments", json={"text": "It’s “ready”"}).json()["encoding"] == "GSM-7"
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    preview = shop.api.post("/api/v1/templates/preview",
                            json={"body": "Hi {{ customer.first_name }}, #{{ ticket.number }} is ready", "ticket_id": ticket["id"]})
    assert preview.json() == {"text": "Hi Jane, #1 is ready", "encoding": "GSM-7", "segments": 1, "credits": 1}

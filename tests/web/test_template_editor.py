"""The template editor through its forms (no JavaScript) and its live check: a refusal and a save answer beside the
template (`#trigger-…`), each template is priced for a typical ticket, and one over a credit says so."""

from __future__ import annotations

import re

LONG = ("Good news {{ customer.first_name }}! Ticket #{{ ticket.number }} ({{ ticket.subject }}) is ready for pickup "
        "at {{ shop.name }}. We are open 9 to 6 on weekdays and 10 to 4 on Saturdays; bring your receipt.")


def _card(html: str, anchor: str) -> str:
    start = html.index(f'<section class="card template" id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_every_template_is_priced_for_a_typical_ticket_and_one_over_a_credit_is_flagged(shops, staff):
    shop = shops.create(name="Fix-It")
    shop.ticket(shop.customer()["id"])
    web = staff(shop)
    assert web.submit("/templates/save", trigger="status:Ready for Pickup", body=LONG).status_code == 303
    page = web.get("/templates").text

    initial = _card(page, "trigger-initial-problem")
    assert 'action="/templates/save#trigger-initial-problem"' in initial
    assert 'formaction="/templates/preview#trigger-initial-problem"' in initial
    assert re.search(r"For a typical ticket: \d+ characters · GSM-7 · 1 segment · 1 credit</output>", initial)
    assert 'data-over-one hidden>' in initial
    resolved = _card(page, "trigger-status-resolved")  # a default text: one credit for a typical ticket
    assert re.search(r"For a typical ticket: \d+ characters · GSM-7 · 1 segment · 1 credit</output>", resolved)

    ready = _card(page, "trigger-status-ready-for-pickup")
    assert "For a typical ticket: 167 characters · GSM-7 · 2 segments · 2 credits" in ready
    assert "This text costs 2 credits for a typical ticket, each time it is sent." in ready
    assert "Off: nothing is sent." in _card(page, "trigger-status-in-progress")


def test_a_refused_save_answers_beside_its_template_and_a_save_lands_on_it(shops, staff):
    shop = shops.create()
    web = staff(shop)
    bad = web.submit("/templates/save", trigger="status:Resolved", body="Thanks {{ customer.nickname }}")
    assert bad.status_code == 422
    card = _card(bad.text, "trigger-status-resolved")
    assert re.search(r'id="trigger-status-resolved-error" role="alert">line 1: unknown variable '
                     r"&#39;customer.nickname&#39;", card)
    assert 'action="/templates/save#trigger-status-resolved"' in card  # the browser opens the answer here
    assert "field-error" not in _card(bad.text, "trigger-initial-problem")

    saved = web.submit("/templates/save", trigger="status:Resolved", body="Thanks {{ customer.first_name }}!")
    assert saved.status_code == 303 and saved.headers["location"] == "/templates#trigger-status-resolved"
    page = web.follow(saved).text
    assert "Saved the Status: Resolved text." in _card(page, "trigger-status-resolved")
    assert 'class="flash' not in page  # the note is beside the template, not in a banner at the top

    off = web.follow(web.submit("/templates/save", trigger="status:Resolved", body=""))
    assert "The Status: Resolved text is off: nothing is sent for it." in _card(off.text, "trigger-status-resolved")


def test_the_live_check_names_the_line_or_prices_the_text(shops, staff):
    shop = shops.create(name="Fix-It")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Cracked screen")
    other = shops.create()
    their_ticket = other.ticket(other.customer()["id"])
    web = staff(shop)

    def check(**body):
        return web.http.post("/ui/templates/check", json=body)

    typical = check(trigger="initial_problem", body="Hi {{ customer.first_name }}, #{{ ticket.number }}").json()
    assert typical["text"] == "Hi Jennifer, #1234" and typical["ticket_number"] is None
    assert (typical["encoding"], typical["segments"], typical["credits"]) == ("GSM-7", 1, 1)
    real = check(trigger="initial_problem", body="Hi {{ customer.first_name }}", ticket_id=ticket["id"]).json()
    assert real["text"] == "Hi Jane" and real["ticket_number"] == 1
    assert check(trigger="status:Ready for Pickup", body="{{ ticket.status }}").json()["text"] == "Ready for Pickup"
    assert check(trigger="initial_problem", body="  ").json() == {"off": True}

    refused = check(trigger="initial_problem", body="Hi\n{{ ticket.colour }}")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "body", "message": "line 2: unknown variable 'ticket.colour' "
                                         "(known: ticket.number, ticket.portal_url, ticket.problem, ticket.status, "
                                         "ticket.subject)"}]
    assert check(trigger="status:Nope", body="x").status_code == 422
    assert check(trigger="initial_problem", body="x", ticket_id=their_ticket["id"]).status_code == 404

    # "Use plain characters" spells the template's own source plainly, never the text rendered from it.
    curly = check(trigger="initial_problem", body="“{{ customer.first_name }}” — ready").json()
    assert curly["encoding"] == "GSM-7"  # smart encoding (on by default) sends plain characters anyway
    assert curly["sent_as"] == '"Jennifer" - ready' and curly["culprits"] == [] and curly["plain"] is None
    assert shop.api.patch("/api/v1/shop", json={"smart_encoding": False}).status_code == 200
    curly = check(trigger="initial_problem", body="“{{ customer.first_name }}” — ready").json()
    assert curly["encoding"] == "UCS-2" and [c["character"] for c in curly["culprits"]] == ["“", "”", "—"]
    assert curly["plain"] == {"text": '"{{ customer.first_name }}" - ready', "encoding": "GSM-7", "segments": 1,
                              "credits": 1}

"""Carrier keywords through the real webhooks: STOP (and synonyms) opts out, START/UNSTOP/YES opts back in,
HELP/INFO answers with the shop's name and phone; Twilio's OptOutType is respected; every keyword is also
recorded on the routed ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    hidden_notes,
    inbox,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    ticket_status,
    twilio_form,
    twilio_text,
)
from support.shops import fresh_number

from repairtext.domain.phones import display


def opted_out_at(shop, customer) -> datetime | None:
    value = shop.api.get(f"/api/v1/customers/{customer['id']}").json()["opted_out_at"]
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def staff_texts(shop, ticket, text: str):
    response = shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": text, "sms_body": text})
    assert response.status_code == 201, response.text
    [message] = [m for m in shop.messages(ticket_id=ticket["id"]) if m["body"] == text]
    return message


def signed_twilio_text(live_server, shop, sender: str, body: str, **fields) -> None:
    """A webhook as Twilio posts it without advanced opt-out (no OptOutType unless given)."""
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, sender, body, **fields)
    response = post_twilio(url, form, signature(TWILIO_TOKEN, url, form))
    assert response.status_code == 200, response.text


def setup(shops, sim, worker, provider: str = "twilio"):
    shop = flowroute_shop(shops, sim) if provider == "flowroute" else open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    worker.drain()
    return shop, customer, ticket


def sent_to(sim, number: str, provider: str = "twilio") -> list[str]:
    wanted = number if provider == "twilio" else number.lstrip("+")
    return [m["body"] for m in sim.messages(provider) if m["to"] == wanted]


# --- STOP -----------------------------------------------------------------------------------------------


def test_stop_opts_the_customer_out_and_the_send_path_refuses_with_the_reason(shops, sim, worker):
    shop, customer, ticket = setup(shops, sim, worker)
    before = datetime.now(UTC)

    twilio_text(sim, shop, phone_of(customer), "STOP")

    when = opted_out_at(shop, customer)
    assert when is not None and before - timedelta(seconds=5) <= when <= datetime.now(UTC)
    assert customer_comments(shop, ticket["id"])[0]["public"] is False
    assert "Customer texted STOP: opted out of texts." in hidden_notes(shop, ticket["id"])
    assert ticket_status(shop, ticket["id"]) == "New"
    assert "opted out" not in httpx.get(ticket["portal_url"], timeout=10).text  # staff see it, not the portal

    texts_before = len(sim.messages())
    refused = staff_texts(shop, ticket, "Your phone is ready")
    assert refused["status"] == "rejected"
    assert "replied STOP" in refused["error"] and "START" in refused["error"]
    assert shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Ready for Pickup"}).status_code == 200
    worker.drain()
    assert len(sim.messages()) == texts_before  # nothing reached the provider
    assert any("Not texted" in note and "replied STOP" in note for note in hidden_notes(shop, ticket["id"]))


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "optout",
                                  "  stop  \n"])
def test_every_stop_synonym_opts_out(shops, sim, worker, word):
    """Flowroute passes keywords through untouched, so this is our own matching at work."""
    shop, customer, ticket = setup(shops, sim, worker, "flowroute")

    flowroute_text(sim, shop, phone_of(customer), word)

    assert opted_out_at(shop, customer) is not None
    [recorded] = customer_comments(shop, ticket["id"])
    assert recorded["public"] is False and "opted out" in recorded["body"]


@pytest.mark.parametrize("text", ["Stop by at 5?", "please stop the repair", "STOP!", "help me please",
                                  "yes please", "Info on price?"])
def test_a_keyword_inside_a_sentence_is_just_a_reply(shops, sim, worker, text):
    shop, customer, ticket = setup(shops, sim, worker, "flowroute")
    sent_before = len(sim.messages("flowroute"))

    flowroute_text(sim, shop, phone_of(customer), text)

    assert opted_out_at(shop, customer) is None
    assert [(c["body"], c["public"]) for c in customer_comments(shop, ticket["id"])] == [(text, True)]
    assert ticket_status(shop, ticket["id"]) == "Customer Reply"
    worker.drain()
    assert len(sim.messages("flowroute")) == sent_before  # no HELP answer


def test_stop_opts_out_everyone_sharing_the_number(shops, sim, worker):
    shop = open_shop(shops)
    phone = fresh_number()
    ann, ben = customer_with_number(shop, phone, "Ann Lee"), customer_with_number(shop, phone, "Ben Lee")

    twilio_text(sim, shop, phone, "Stop")

    assert opted_out_at(shop, ann) is not None and opted_out_at(shop, ben) is not None
    [row] = inbox(shop)  # no ticket to record it on: staff see it in the inbox
    assert row["body"] == "Stop"


def test_twilio_opt_out_type_is_trusted_for_its_own_keywords(shops, sim, worker, live_server):
    """A Twilio account can add keywords of its own (here French); OptOutType says what Twilio matched."""
    shop, customer, ticket = setup(shops, sim, worker)

    signed_twilio_text(live_server, shop, phone_of(customer), "Arrêt", OptOutType="STOP")
    assert opted_out_at(shop, customer) is not None
    signed_twilio_text(live_server, shop, phone_of(customer), "Reprendre", OptOutType="START")
    assert opted_out_at(shop, customer) is None
    # Without OptOutType (advanced opt-out off) our own matching still applies.
    signed_twilio_text(live_server, shop, phone_of(customer), "unsubscribe")
    assert opted_out_at(shop, customer) is not None
    assert [c["public"] for c in customer_comments(shop, ticket["id"])] == [False, False, False]


# --- START ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_unstop_and_yes_opt_back_in_and_texts_flow_again(shops, sim, worker, word):
    shop, customer, ticket = setup(shops, sim, worker)
    twilio_text(sim, shop, phone_of(customer), "STOP")
    assert opted_out_at(shop, customer) is not None

    twilio_text(sim, shop, phone_of(customer), word)

    assert opted_out_at(shop, customer) is None
    assert any("opted back in" in note for note in hidden_notes(shop, ticket["id"]))
    message = staff_texts(shop, ticket, "Welcome back! Your phone is ready.")
    assert message["status"] == "queued"
    worker.drain()
    assert "Welcome back! Your phone is ready." in sent_to(sim, phone_of(customer))
    [sent] = [m for m in shop.messages(ticket_id=ticket["id"]) if m["id"] == message["id"]]
    assert sent["status"] not in ("rejected", "failed") and sent["error_code"] is None


def test_start_via_flowroute_opts_back_in(shops, sim, worker):
    shop, customer, ticket = setup(shops, sim, worker, "flowroute")
    flowroute_text(sim, shop, phone_of(customer), "quit")
    assert opted_out_at(shop, customer) is not None

    flowroute_text(sim, shop, phone_of(customer), "start")

    assert opted_out_at(shop, customer) is None


# --- HELP ---------------------------------------------------------------------------------------------------


def test_help_is_answered_with_the_shops_name_and_phone_and_costs_credits(shops, sim, worker, live_server):
    shop, customer, ticket = setup(shops, sim, worker)
    credits_before = shop.credits()["total_remaining"]

    signed_twilio_text(live_server, shop, phone_of(customer), "help")  # Twilio's advanced opt-out is off
    worker.drain()

    [answer] = sent_to(sim, phone_of(customer))[1:]  # after the Initial Problem text
    assert "Fix-It Phone Repair" in answer and display(shop.number) in answer
    [message] = [m for m in shop.messages(customer_id=customer["id"]) if m["trigger"] == "help_reply"]
    assert message["credits"] == message["segments"] >= 1
    assert shop.credits()["total_remaining"] == credits_before - message["credits"]
    assert any("asked for help" in note for note in hidden_notes(shop, ticket["id"]))
    assert opted_out_at(shop, customer) is None


def test_help_answered_by_twilios_advanced_opt_out_is_not_answered_twice(shops, sim, worker):
    shop, customer, ticket = setup(shops, sim, worker)
    credits_before = shop.credits()["total_remaining"]

    twilio_text(sim, shop, phone_of(customer), "HELP")  # the simulator sets OptOutType=HELP, as Twilio does
    worker.drain()

    assert len(sent_to(sim, phone_of(customer))) == 1  # only the Initial Problem text
    assert shop.credits()["total_remaining"] == credits_before
    assert any("asked for help" in note for note in hidden_notes(shop, ticket["id"]))


def test_info_via_flowroute_is_answered_from_the_shops_own_account(shops, sim, worker):
    shop, customer, ticket = setup(shops, sim, worker, "flowroute")

    flowroute_text(sim, shop, phone_of(customer), "INFO")
    worker.drain()

    answers = sent_to(sim, phone_of(customer), "flowroute")[1:]
    assert len(answers) == 1 and "Fix-It Phone Repair" in answers[0] and display(shop.number) in answers[0]
    [message] = [m for m in shop.messages(customer_id=customer["id"]) if m["trigger"] == "help_reply"]
    assert message["provider"] == "flowroute" and message["credits"] == 0


def test_help_from_an_unknown_number_is_answered_and_kept_in_the_inbox(shops, sim, worker):
    shop = flowroute_shop(shops, sim)
    stranger = fresh_number()

    flowroute_text(sim, shop, stranger, "Help")
    worker.drain()

    assert len(sent_to(sim, stranger, "flowroute")) == 1
    [row] = inbox(shop)
    assert row["body"] == "Help" and row["customer_id"] is None


def test_yes_from_a_customer_who_never_opted_out_is_an_ordinary_reply(shops, sim, worker, live_server):
    shop, customer, ticket = setup(shops, sim, worker)
    signed_twilio_text(live_server, shop, phone_of(customer), "Yes")
    [reply] = [c for c in customer_comments(shop, ticket["id"]) if c["body"] == "Yes"]
    assert reply["public"] is True
    assert ticket_status(shop, ticket["id"]) == "Customer Reply"


def test_help_is_answered_from_the_number_the_customer_texted(shops, sim, worker, live_server, ctx):
    import dataclasses

    shop, customer, ticket = setup(shops, sim, worker)
    second = fresh_number()
    ctx.settings = dataclasses.replace(ctx.settings, admin_token="op")   # the operator assigns platform numbers
    assigned = httpx.post(f"{live_server.url}/api/v1/admin/shops/{shop.id}/numbers", json={"number": second},
                          headers={"Authorization": "Bearer op"})
    assert assigned.status_code == 201, assigned.text
    url = live_server.url + TWILIO_INBOUND
    form = [(k, second if k == "To" else v) for k, v in twilio_form(shop, phone_of(customer), "HELP")]
    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200
    worker.drain()
    [answer] = [m for m in sim.messages() if m["to"] == phone_of(customer)][1:]
    assert answer["from"] == second


def test_help_is_answered_once_a_day_per_number(shops, sim, worker, live_server):
    shop, customer, ticket = setup(shops, sim, worker)
    for _ in range(3):
        signed_twilio_text(live_server, shop, phone_of(customer), "HELP")
    worker.drain()
    answers = [m for m in shop.messages(customer_id=customer["id"]) if m["trigger"] == "help_reply"]
    assert len(answers) == 1

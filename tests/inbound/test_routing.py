"""Where a customer's reply lands: the routing rule on its own, then each rule and each inbox case through the
real webhooks (Twilio through the simulator, which signs like Twilio; Flowroute by its secret-token URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.inbound import (
    age_outbound_texts,
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    inbound_messages,
    inbox,
    open_shop,
    phone_of,
    ticket_status,
    twilio_text,
)
from support.shops import fresh_number

from repairtext.domain.routing import RecentOutbound, TicketRef, mentioned_ticket_numbers, route_reply

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


# --- the rule on its own ---------------------------------------------------------------------------------


def ref(id_: int, number: int | None = None, customer: int = 1, open_: bool = True) -> TicketRef:
    return TicketRef(id_, number if number is not None else id_, customer, open_)


def recent(ticket_id: int, customer: int = 1, ago: timedelta = timedelta(hours=2)) -> RecentOutbound:
    return RecentOutbound(ticket_id, customer, NOW - ago)


def test_unit_no_customer_with_the_number_goes_to_the_inbox():
    route = route_reply("Is my phone ready? #1", [], [], None, NOW)
    assert route.to_inbox and route.rule == "inbox" and route.customer_id is None
    assert route.reason == "no customer has this number"


def test_unit_a_ticket_number_wins_over_a_recent_text_and_over_closed_status():
    tickets = [ref(10, 1, open_=False), ref(11, 2), ref(12, 3)]
    route = route_reply("About #1: it broke again", [1], tickets, recent(12), NOW)
    assert (route.ticket_id, route.customer_id, route.rule) == (10, 1, "ticket_number")
    assert "#1" in route.reason


@pytest.mark.parametrize("body, expected", [
    ("#12 please", {12}), ("see # 7", {7}), ("#1 and #12", {1, 12}), ("ticket 12", set()),
    ("#12a", set()), ("", set()), (None, set()),
])
def test_unit_ticket_numbers_are_read_whole(body, expected):
    assert mentioned_ticket_numbers(body) == expected


def test_unit_a_number_that_is_a_prefix_of_another_names_only_itself():
    tickets = [ref(1, 1), ref(2, 12)]
    assert route_reply("#12 done?", [1], tickets, None, NOW).ticket_id == 2
    assert route_reply("#1 done?", [1], tickets, None, NOW).ticket_id == 1


def test_unit_a_number_that_is_not_one_of_their_tickets_is_ignored():
    route = route_reply("Is #99 ready?", [1], [ref(5, 4)], None, NOW)
    assert (route.ticket_id, route.rule) == (5, "only_open_ticket")


def test_unit_naming_two_of_their_tickets_goes_to_the_inbox():
    route = route_reply("#1 or #2?", [1], [ref(1), ref(2), ref(3)], recent(3), NOW)
    assert route.to_inbox and "#1, #2" in route.reason


def test_unit_recent_outbound_names_the_ticket_within_30_days_inclusive():
    tickets = [ref(1), ref(2), ref(3)]
    at_limit = route_reply("ok", [1], tickets, recent(2, ago=timedelta(days=30)), NOW)
    assert (at_limit.ticket_id, at_limit.rule) == (2, "recent_outbound")
    too_old = route_reply("ok", [1], tickets, recent(2, ago=timedelta(days=30, seconds=1)), NOW)
    assert too_old.to_inbox and too_old.reason == "the customer has 3 open tickets"


def test_unit_only_open_ticket_ignores_closed_ones():
    route = route_reply("ok", [1], [ref(1, open_=False), ref(2), ref(3, open_=False)], None, NOW)
    assert (route.ticket_id, route.rule) == (2, "only_open_ticket")


def test_unit_no_open_ticket_goes_to_the_inbox_naming_the_customer():
    route = route_reply("ok", [7], [ref(1, customer=7, open_=False)], None, NOW)
    assert route.to_inbox and route.customer_id == 7 and route.reason == "the customer has no open ticket"


def test_unit_a_shared_number_needs_a_recent_text_or_a_ticket_number():
    tickets = [ref(1, customer=1), ref(2, customer=2)]
    shared = route_reply("ok", [1, 2], tickets, None, NOW)
    assert shared.to_inbox and shared.customer_id is None and shared.reason == "2 customers share this number"
    assert route_reply("ok", [1, 2], tickets, recent(2, customer=2), NOW).ticket_id == 2
    assert route_reply("#2 ready?", [1, 2], tickets, None, NOW).customer_id == 2


# --- through the webhooks ---------------------------------------------------------------------------------


def three_open_tickets(shop):
    customer = customer_with_number(shop)
    tickets = [shop.ticket(customer["id"], subject=s) for s in ("Cracked screen", "Battery", "Charging port")]
    return customer, tickets


def assert_reply_on(shop, ticket, body):
    replies = customer_comments(shop, ticket["id"])
    assert [(c["body"], c["public"]) for c in replies] == [(body, True)]
    assert ticket_status(shop, ticket["id"]) == "Customer Reply"


def test_a_ticket_number_in_the_text_picks_that_ticket(shops, sim, worker):
    shop = open_shop(shops)
    customer, (first, second, third) = three_open_tickets(shop)
    worker.drain()  # the three Initial Problem texts went out; the last one is about the third ticket

    twilio_text(sim, shop, phone_of(customer), f"Any news on #{first['number']}?")

    assert_reply_on(shop, first, f"Any news on #{first['number']}?")
    assert customer_comments(shop, second["id"]) == customer_comments(shop, third["id"]) == []
    [message] = inbound_messages(shop)
    assert (message["ticket_id"], message["customer_id"]) == (first["id"], customer["id"])


def test_a_reply_goes_to_the_ticket_of_the_most_recent_text(shops, sim, worker):
    shop = open_shop(shops)
    customer, (first, second, third) = three_open_tickets(shop)
    worker.drain()
    sent = shop.api.post(f"/api/v1/tickets/{second['id']}/comments",
                         json={"body": "Battery is in", "sms_body": "Your new battery is in. Pick up today?"})
    assert sent.status_code == 201
    worker.drain()
    assert sim.messages()[-1]["body"] == "Your new battery is in. Pick up today?"

    twilio_text(sim, shop, phone_of(customer), "Yes, after work")

    assert_reply_on(shop, second, "Yes, after work")
    assert customer_comments(shop, first["id"]) == customer_comments(shop, third["id"]) == []


def test_a_customer_with_three_open_tickets_and_no_recent_text_goes_to_the_inbox(shops, sim, worker, ctx):
    shop = open_shop(shops)
    customer, tickets = three_open_tickets(shop)
    worker.drain()
    age_outbound_texts(ctx, shop, days=31)  # the tickets' texts went out more than 30 days ago

    twilio_text(sim, shop, phone_of(customer), "Hello?")

    [row] = inbox(shop)
    assert (row["body"], row["from"], row["customer_id"]) == ("Hello?", phone_of(customer), customer["id"])
    assert row["reason"] == "the customer has 3 open tickets"
    assert all(customer_comments(shop, t["id"]) == [] and ticket_status(shop, t["id"]) == "New" for t in tickets)

    # ... and a ticket number still places it, while the next vague text joins the inbox too.
    twilio_text(sim, shop, phone_of(customer), f"It's about #{tickets[2]['number']}")
    twilio_text(sim, shop, phone_of(customer), "Hello again?")
    assert_reply_on(shop, tickets[2], f"It's about #{tickets[2]['number']}")
    assert [r["body"] for r in inbox(shop)] == ["Hello?", "Hello again?"]


def test_a_text_within_30_days_still_counts(shops, sim, worker, ctx):
    shop = open_shop(shops)
    customer, (first, second, third) = three_open_tickets(shop)
    worker.drain()
    age_outbound_texts(ctx, shop, days=29)

    twilio_text(sim, shop, phone_of(customer), "Thanks")

    assert_reply_on(shop, third, "Thanks")
    assert inbox(shop) == []


def test_the_only_open_ticket_takes_the_reply(shops, sim, worker, ctx):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    old = shop.ticket(customer["id"], subject="Old laptop")
    assert shop.api.patch(f"/api/v1/tickets/{old['id']}", json={"status": "Resolved"}).status_code == 200
    current = shop.ticket(customer["id"], subject="Tablet")
    worker.drain()
    age_outbound_texts(ctx, shop, days=45)

    twilio_text(sim, shop, phone_of(customer), "When can I pick it up?")

    assert_reply_on(shop, current, "When can I pick it up?")
    assert ticket_status(shop, old["id"]) == "Resolved"
    assert inbox(shop) == []


def test_a_reply_reopens_a_resolved_ticket(shops, sim, worker):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    assert shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Resolved"}).status_code == 200
    worker.drain()

    twilio_text(sim, shop, phone_of(customer), "The screen is flickering again")

    assert_reply_on(shop, ticket, "The screen is flickering again")


def test_a_resolved_ticket_named_by_number_is_reopened_long_after(shops, sim, worker, ctx):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    assert shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Resolved"}).status_code == 200
    worker.drain()
    age_outbound_texts(ctx, shop, days=90)

    twilio_text(sim, shop, phone_of(customer), "Hello?")
    [row] = inbox(shop)
    assert row["reason"] == "the customer has no open ticket" and row["customer_id"] == customer["id"]

    twilio_text(sim, shop, phone_of(customer), f"#{ticket['number']} broke again")
    assert_reply_on(shop, ticket, f"#{ticket['number']} broke again")


def test_an_unknown_number_goes_to_the_inbox_and_staff_place_it(shops, sim, worker):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    stranger = fresh_number()

    twilio_text(sim, shop, stranger, "Hi, this is Jane's husband. Is her phone ready?")

    [row] = inbox(shop)
    assert (row["from"], row["to"], row["customer_id"]) == (stranger, shop.number, None)
    assert row["reason"] == "no customer has this number"
    assert customer_comments(shop, ticket["id"]) == []

    placed = shop.api.post(f"/api/v1/inbox/{row['id']}/assign", json={"ticket_id": ticket["id"]})
    assert placed.status_code == 200, placed.text
    assert placed.json()["ticket_id"] == ticket["id"]
    assert_reply_on(shop, ticket, "Hi, this is Jane's husband. Is her phone ready?")
    assert inbox(shop) == []
    again = shop.api.post(f"/api/v1/inbox/{row['id']}/assign", json={"ticket_id": ticket["id"]})
    assert again.status_code == 404


def test_inbox_rows_and_tickets_of_another_shop_cannot_be_used(shops, sim):
    shop, other = open_shop(shops, name="A"), open_shop(shops, name="B")
    theirs = other.ticket(other.customer()["id"])
    twilio_text(sim, shop, fresh_number(), "Who is this?")
    twilio_text(sim, other, fresh_number(), "Hello B")
    [mine], [their_row] = inbox(shop), inbox(other)

    wrong_ticket = shop.api.post(f"/api/v1/inbox/{mine['id']}/assign", json={"ticket_id": theirs["id"]})
    assert wrong_ticket.status_code == 422
    assert wrong_ticket.json()["errors"][0]["field"] == "ticket_id"
    wrong_row = shop.api.post(f"/api/v1/inbox/{their_row['id']}/assign", json={"ticket_id": theirs["id"]})
    assert wrong_row.status_code == 404
    assert len(inbox(shop)) == 1 and len(inbox(other)) == 1
    assert customer_comments(other, theirs["id"]) == []


def test_a_number_shared_by_two_customers(shops, sim, worker, ctx):
    shop = open_shop(shops)
    family_phone = fresh_number()
    mum = customer_with_number(shop, family_phone, name="Ann Lee")
    son = customer_with_number(shop, family_phone, name="Ben Lee")
    mums, sons = shop.ticket(mum["id"], subject="iPad"), shop.ticket(son["id"], subject="Xbox")
    worker.drain()
    age_outbound_texts(ctx, shop, days=40)

    twilio_text(sim, shop, family_phone, "Is it done?")
    [row] = inbox(shop)
    assert row["reason"] == "2 customers share this number" and row["customer_id"] is None

    twilio_text(sim, shop, family_phone, f"Ben here, #{sons['number']} ok?")
    assert_reply_on(shop, sons, f"Ben here, #{sons['number']} ok?")

    shop.api.post(f"/api/v1/tickets/{mums['id']}/comments", json={"body": "x", "sms_body": "Your iPad is ready"})
    worker.drain()
    twilio_text(sim, shop, family_phone, "Great, coming at 5")
    assert_reply_on(shop, mums, "Great, coming at 5")
    [message] = [m for m in inbound_messages(shop) if m["body"] == "Great, coming at 5"]
    assert message["customer_id"] == mum["id"]
    assert len(inbox(shop)) == 1


def test_numbers_match_in_e164_whatever_the_format(shops, sim, worker, ctx):
    """The shop typed the number as a person would; Flowroute sends 11 digits without '+'."""
    shop = flowroute_shop(shops, sim)
    customer = shop.customer("Jane Cooper", phones=[{"number": "(206) 555-0134", "type": "mobile"}])
    assert phone_of(customer) == "+12065550134"
    ticket = shop.ticket(customer["id"])
    worker.drain()
    age_outbound_texts(ctx, shop, days=31)

    flowroute_text(sim, shop, "12065550134", "Is it fixed?")

    assert_reply_on(shop, ticket, "Is it fixed?")
    [message] = inbound_messages(shop)
    assert message["from"] == "+12065550134"
    assert message["to"] == shop.number and message["provider"] == "flowroute"


def test_a_reply_after_a_flowroute_text_goes_to_that_ticket(shops, sim, worker):
    shop = flowroute_shop(shops, sim)
    customer, (first, second, third) = three_open_tickets(shop)
    worker.drain()
    assert [m["to"] for m in sim.messages("flowroute")] == [phone_of(customer).lstrip("+")] * 3

    flowroute_text(sim, shop, phone_of(customer), "Got it")

    assert_reply_on(shop, third, "Got it")


def test_an_international_sender_via_flowroute_matches_in_e164(shops, sim, worker, ctx):
    """Flowroute writes every number as digits without '+': 11 for North America, the full number elsewhere."""
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop, "+44 7400 123456", name="Tom Price")
    ticket = shop.ticket(customer["id"])
    worker.drain()
    age_outbound_texts(ctx, shop, days=31)

    flowroute_text(sim, shop, "447400123456", "Back in London, any news?")

    assert_reply_on(shop, ticket, "Back in London, any news?")
    [message] = inbound_messages(shop)
    assert (message["from"], message["to"]) == ("+447400123456", shop.number)


def test_the_same_phone_at_two_shops_is_routed_within_the_shop_texted(shops, sim, worker):
    a, b = open_shop(shops, name="A"), open_shop(shops, name="B")
    phone = fresh_number()
    at_a, at_b = customer_with_number(a, phone), customer_with_number(b, phone)
    ticket_a, ticket_b = a.ticket(at_a["id"]), b.ticket(at_b["id"])
    worker.drain()

    twilio_text(sim, b, phone, "This is for shop B")

    assert_reply_on(b, ticket_b, "This is for shop B")
    assert customer_comments(a, ticket_a["id"]) == [] and inbound_messages(a) == []


def test_a_text_held_for_quiet_hours_is_not_what_the_customer_replies_to(shops, sim, worker):
    from zoneinfo import ZoneInfo

    shop = open_shop(shops)
    customer = customer_with_number(shop)
    first, second = shop.ticket(customer["id"], subject="Phone"), shop.ticket(customer["id"], subject="Tablet")
    worker.drain()
    shop.api.post(f"/api/v1/tickets/{first['id']}/comments", json={"body": "x", "sms_body": "Parts for the phone came"})
    worker.drain()
    local = datetime.now(ZoneInfo("America/Chicago"))
    window = {"start": f"{local - timedelta(hours=1):%H:%M}", "end": f"{local + timedelta(hours=1):%H:%M}"}
    assert shop.api.patch("/api/v1/shop", json={"quiet_hours": window}).status_code == 200
    shop.api.patch(f"/api/v1/tickets/{second['id']}", json={"status": "Ready for Pickup"})  # held till the window ends
    worker.drain()
    assert sim.messages()[-1]["body"] == "Parts for the phone came"

    twilio_text(sim, shop, phone_of(customer), "Great, thanks")

    assert_reply_on(shop, first, "Great, thanks")

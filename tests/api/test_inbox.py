"""The inbox never guesses who wrote: a text is the customer's only when the number is one of theirs (routing
found them by it, or staff chose to link it); placing without linking shows the sender's number, on the staff
side and on the portal. Texts can be dismissed with a reason (kept, listed); their pictures can be seen before
they are placed; a customer's text on the wrong ticket can be moved. Each decision happens once, per shop."""

from __future__ import annotations

import re
import threading

import httpx
from sqlalchemy import select
from support.inbound import (
    age_outbound_texts,
    customer_with_number,
    hidden_notes,
    inbound_messages,
    inbox,
    media,
    open_shop,
    phone_of,
    png,
    twilio_text,
)
from support.shops import fresh_number

from repairtext.adapters.db.models import Attachment, Comment, Event


def national(e164: str) -> str:
    """+12065550134 as a person writes it in the US: (206) 555-0134."""
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def texts_by_customer(shop, ticket_id: int) -> list[dict]:
    return [c for c in shop.comments(ticket_id) if c["author"] == "customer"]


def assign(shop, row_id: int, ticket_id: int, **extra) -> httpx.Response:
    return shop.api.post(f"/api/v1/inbox/{row_id}/assign", json={"ticket_id": ticket_id, **extra})


def dismiss(shop, row_id: int, reason: str | None = "spam") -> httpx.Response:
    return shop.api.post(f"/api/v1/inbox/{row_id}/dismiss", json={} if reason is None else {"reason": reason})


def portal_names(ticket: dict) -> list[str]:
    """Who the portal says wrote each update, in order."""
    page = httpx.get(ticket["portal_url"])
    assert page.status_code == 200
    return re.findall(r'<div class="entry-head">\s*<strong>([^<]*)</strong>', page.text)


def one_stranger_text(shops, sim, body: str = "Is my phone ready?"):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ticket = shop.ticket(jane["id"])
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, body)
    [row] = inbox(shop)
    return shop, jane, ticket, stranger, row


# --- who wrote ----------------------------------------------------------------------------------------------


def test_a_routed_text_is_the_customers(shops, sim):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ticket = shop.ticket(jane["id"])

    twilio_text(sim, shop, phone_of(jane), "Thanks, see you at 5")

    [reply] = texts_by_customer(shop, ticket["id"])
    assert reply["author_name"] == "Jane Cooper"
    assert portal_names(ticket)[-1] == "You"


def test_placed_without_linking_the_text_shows_the_number_not_the_customer(shops, sim):
    shop, jane, ticket, stranger, row = one_stranger_text(shops, sim, "Hi, this is Jane's husband")

    placed = assign(shop, row["id"], ticket["id"])

    assert placed.status_code == 200, placed.text
    [reply] = texts_by_customer(shop, ticket["id"])
    assert reply["body"] == "Hi, this is Jane's husband" and reply["author_name"] == national(stranger)
    assert portal_names(ticket)[-1] == national(stranger)
    assert "You" not in portal_names(ticket)
    # The number stays a stranger's: Jane's phones are as they were, and its next text goes to the inbox again.
    assert [p["number"] for p in shop.api.get(f"/api/v1/customers/{jane['id']}").json()["phones"]] == [phone_of(jane)]
    twilio_text(sim, shop, stranger, "Hello?")
    assert [r["body"] for r in inbox(shop)] == ["Hello?"]


def test_placed_with_link_customer_the_number_becomes_theirs_and_routes_like_any_other(shops, sim):
    shop, jane, ticket, stranger, row = one_stranger_text(shops, sim, "New phone, same Jane")

    placed = assign(shop, row["id"], ticket["id"], link_customer=True)

    assert placed.status_code == 200, placed.text
    [reply] = texts_by_customer(shop, ticket["id"])
    assert reply["author_name"] == "Jane Cooper" and portal_names(ticket)[-1] == "You"
    phones = shop.api.get(f"/api/v1/customers/{jane['id']}").json()["phones"]
    assert phones == [{"number": phone_of(jane), "type": "mobile"}, {"number": stranger, "type": "mobile"}]
    [note] = hidden_notes(shop, ticket["id"])
    assert note == (f"First key added {national(stranger)} to Jane Cooper as a mobile phone, placing their text "
                    "from the inbox.")
    # The next text from the number lands by the normal rules (Jane's only open ticket), as hers.
    twilio_text(sim, shop, stranger, "Can I come at 5?")
    assert inbox(shop) == []
    assert [(c["body"], c["author_name"]) for c in texts_by_customer(shop, ticket["id"])] == [
        ("New phone, same Jane", "Jane Cooper"), ("Can I come at 5?", "Jane Cooper")]
    [message] = [m for m in inbound_messages(shop) if m["body"] == "Can I come at 5?"]
    assert message["ticket_id"] == ticket["id"] and message["customer_id"] == jane["id"]


def test_a_number_already_the_customers_is_theirs_with_or_without_linking(shops, sim, worker, ctx):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    first, second = shop.ticket(jane["id"], subject="iPad"), shop.ticket(jane["id"], subject="Laptop")
    worker.drain()
    age_outbound_texts(ctx, shop, days=40)
    twilio_text(sim, shop, phone_of(jane), "Which one is ready?")
    twilio_text(sim, shop, phone_of(jane), "Either?")
    one, two = inbox(shop)
    assert one["reason"] == "the customer has 2 open tickets"

    assert assign(shop, one["id"], first["id"]).status_code == 200
    assert assign(shop, two["id"], second["id"], link_customer=True).status_code == 200

    assert [c["author_name"] for c in texts_by_customer(shop, first["id"])] == ["Jane Cooper"]
    assert [c["author_name"] for c in texts_by_customer(shop, second["id"])] == ["Jane Cooper"]
    assert len(shop.api.get(f"/api/v1/customers/{jane['id']}").json()["phones"]) == 1  # not added twice
    assert hidden_notes(shop, second["id"]) == []  # nothing was linked


def test_linking_a_number_another_customer_has_is_refused_naming_the_field(shops, sim, worker, ctx):
    shop = open_shop(shops)
    ann = customer_with_number(shop, name="Ann Lee")
    shop.ticket(ann["id"], subject="iPad")
    shop.ticket(ann["id"], subject="Xbox")
    bob_ticket = shop.ticket(shop.customer("Bob Stone")["id"])
    worker.drain()
    age_outbound_texts(ctx, shop, days=40)
    twilio_text(sim, shop, phone_of(ann), "Is it done?")
    [row] = inbox(shop)

    refused = assign(shop, row["id"], bob_ticket["id"], link_customer=True)

    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "link_customer" and f"{national(phone_of(ann))} is already Ann Lee's number" in error["message"]
    assert [r["id"] for r in inbox(shop)] == [row["id"]]  # nothing happened
    assert texts_by_customer(shop, bob_ticket["id"]) == []
    # Placed without linking, it shows Ann's number on Bob's ticket: it is not Bob's.
    assert assign(shop, row["id"], bob_ticket["id"]).status_code == 200
    assert [c["author_name"] for c in texts_by_customer(shop, bob_ticket["id"])] == [national(phone_of(ann))]


def test_link_customer_must_be_a_boolean(shops, sim):
    shop, _, ticket, _, row = one_stranger_text(shops, sim)
    response = assign(shop, row["id"], ticket["id"], link_customer="maybe")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "link_customer"
    assert len(inbox(shop)) == 1


# --- once, and only once --------------------------------------------------------------------------------------


def test_a_second_assign_or_dismiss_of_the_same_text_changes_nothing(shops, sim):
    shop, _, ticket, _, row = one_stranger_text(shops, sim)
    assert assign(shop, row["id"], ticket["id"], link_customer=True).status_code == 200

    again = assign(shop, row["id"], ticket["id"], link_customer=True)
    assert again.status_code == 404 and "placed on a ticket" in again.json()["detail"]
    late_dismiss = dismiss(shop, row["id"])
    assert late_dismiss.status_code == 404 and "placed on a ticket" in late_dismiss.json()["detail"]
    assert len(texts_by_customer(shop, ticket["id"])) == 1 and len(hidden_notes(shop, ticket["id"])) == 1

    twilio_text(sim, shop, fresh_number(), "Buy cheap watches")
    [spam] = inbox(shop)
    assert dismiss(shop, spam["id"]).status_code == 204
    twice = dismiss(shop, spam["id"], "wrong number")
    assert twice.status_code == 404 and "First key dismissed it" in twice.json()["detail"]
    late_assign = assign(shop, spam["id"], ticket["id"])
    assert late_assign.status_code == 404 and "dismissed" in late_assign.json()["detail"]
    [kept] = inbox_of(shop, "dismissed")
    assert kept["dismissed_reason"] == "spam"
    assert len(texts_by_customer(shop, ticket["id"])) == 1


def test_two_colleagues_deciding_the_same_text_at_once_one_wins(shops, sim):
    shop, _, ticket, _, row = one_stranger_text(shops, sim)
    other_ticket = shop.ticket(shop.customer("Bob Stone")["id"])
    answers: list[int] = []
    start = threading.Barrier(4)

    def decide(call) -> None:
        start.wait()
        answers.append(call().status_code)

    calls = [lambda: assign(shop, row["id"], ticket["id"], link_customer=True),
             lambda: assign(shop, row["id"], other_ticket["id"], link_customer=True),
             lambda: dismiss(shop, row["id"]), lambda: assign(shop, row["id"], ticket["id"])]
    threads = [threading.Thread(target=decide, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers)[1:] == [404, 404, 404] and sorted(answers)[0] in (200, 204)
    placed = texts_by_customer(shop, ticket["id"]) + texts_by_customer(shop, other_ticket["id"])
    assert len(placed) == (1 if 200 in answers else 0)
    assert inbox(shop) == []


# --- dismissing ----------------------------------------------------------------------------------------------


def inbox_of(shop, state: str) -> list[dict]:
    response = shop.api.get("/api/v1/inbox", params={"state": state})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_dismissed_text_leaves_the_inbox_and_is_kept_with_why_and_by_whom(shops, sim):
    shop = open_shop(shops)
    spammer = fresh_number()
    twilio_text(sim, shop, spammer, "WIN A CRUISE")
    [row] = inbox(shop)
    key = shop.api.post("/api/v1/shop/api-keys", json={"name": "Front desk"}).json()["key"]
    front_desk = httpx.Client(base_url=str(shop.api.base_url), headers={"Authorization": f"Bearer {key}"})

    answer = front_desk.post(f"/api/v1/inbox/{row['id']}/dismiss", json={"reason": "  Spam:  a cruise  "})

    assert answer.status_code == 204 and answer.content == b""
    assert inbox(shop) == []
    [kept] = inbox_of(shop, "dismissed")
    assert (kept["id"], kept["from"], kept["body"], kept["state"]) == (row["id"], spammer, "WIN A CRUISE", "dismissed")
    assert (kept["dismissed_reason"], kept["dismissed_by"]) == ("Spam: a cruise", "Front desk")
    assert kept["dismissed_at"] >= row["received_at"]
    assert [m["body"] for m in inbound_messages(shop)] == ["WIN A CRUISE"]  # still among the messages


def test_a_dismiss_reason_is_required_and_bounded(shops, sim):
    shop = open_shop(shops)
    twilio_text(sim, shop, fresh_number(), "Hello")
    [row] = inbox(shop)
    for reason in (None, "", "   ", "x" * 501, 7):
        response = shop.api.post(f"/api/v1/inbox/{row['id']}/dismiss", json={} if reason is None else {"reason": reason})
        assert response.status_code == 422, (reason, response.text)
        assert response.json()["errors"][0]["field"] == "reason"
    assert len(inbox(shop)) == 1 and inbox_of(shop, "dismissed") == []
    assert dismiss(shop, row["id"], "x" * 500).status_code == 204


# --- pictures in the inbox -----------------------------------------------------------------------------------


def test_the_pictures_of_an_inbox_text_can_be_seen_by_the_shop_only(shops, sim, worker):
    shop = open_shop(shops)
    twilio_text(sim, shop, fresh_number(), "Is this crack fixable?", [
        media(png((800, 600)), "image/png"), media(b"BEGIN:VCARD\r\nEND:VCARD\r\n", "text/vcard")])
    [pending] = inbox(shop)
    assert [m["url"] for m in pending["media"]] == [None, None]  # not fetched yet
    worker.drain()

    [row] = inbox(shop)
    picture, card = row["media"]
    assert picture["state"] == "stored" and picture["content_type"] == "image/png"
    assert picture["url"].endswith(f"/api/v1/inbox/{row['id']}/media/0")
    assert picture["thumbnail_url"] == picture["url"] + "/thumbnail"
    assert card["state"] == "refused" and card["url"] is None and card["reason"]

    full = shop.api.get(picture["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert full.content.startswith(b"\x89PNG") and full.headers["x-content-type-options"] == "nosniff"
    thumb = shop.api.get(picture["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith("image/")
    assert shop.api.get(f"/api/v1/inbox/{row['id']}/media/1").status_code == 404  # refused: nothing stored
    assert shop.api.get(f"/api/v1/inbox/{row['id']}/media/2").status_code == 404
    assert shop.api.get(f"/api/v1/inbox/{row['id']}/media/100").status_code == 422

    other = open_shop(shops, name="B")
    assert other.api.get(f"/api/v1/inbox/{row['id']}/media/0").status_code == 404
    assert other.api.get(f"/api/v1/inbox/{row['id']}/media/0/thumbnail").status_code == 404
    assert httpx.get(picture["url"]).status_code == 401

    # Dismissed, it is still there to look at among the dismissed.
    assert dismiss(shop, row["id"], "wrong number").status_code == 204
    [kept] = inbox_of(shop, "dismissed")
    assert kept["media"][0]["url"] == picture["url"] and shop.api.get(picture["url"]).status_code == 200


# --- another shop's ids ----------------------------------------------------------------------------------------


def test_another_shops_inbox_texts_tickets_and_comments_answer_not_found(shops, sim):
    shop, jane, ticket, _, row = one_stranger_text(shops, sim)
    other = open_shop(shops, name="B")
    marcus = customer_with_number(other, name="Marcus Lee")
    theirs = other.ticket(marcus["id"])
    twilio_text(sim, other, fresh_number(), "Hello B")
    [their_row] = inbox(other)
    twilio_text(sim, other, phone_of(marcus), "Mine")
    [their_text] = texts_by_customer(other, theirs["id"])

    assert assign(shop, their_row["id"], ticket["id"]).status_code == 404
    assert assign(shop, their_row["id"], ticket["id"], link_customer=True).status_code == 404
    assert dismiss(shop, their_row["id"]).status_code == 404
    wrong_ticket = assign(shop, row["id"], theirs["id"], link_customer=True)
    assert wrong_ticket.status_code == 422 and wrong_ticket.json()["errors"][0]["field"] == "ticket_id"
    assert shop.api.post(f"/api/v1/comments/{their_text['id']}/move", json={"ticket_id": ticket["id"]}).status_code == 404
    twilio_text(sim, shop, phone_of(jane), "Mine too")
    [mine] = texts_by_customer(shop, ticket["id"])
    moved = shop.api.post(f"/api/v1/comments/{mine['id']}/move", json={"ticket_id": theirs["id"]})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "ticket_id"

    assert [r["id"] for r in inbox(other)] == [their_row["id"]] and inbox_of(other, "dismissed") == []
    assert [r["id"] for r in inbox(shop)] == [row["id"]]
    assert [c["body"] for c in texts_by_customer(other, theirs["id"])] == ["Mine"]
    assert [c["body"] for c in texts_by_customer(shop, ticket["id"])] == ["Mine too"]


# --- moving a misplaced text ----------------------------------------------------------------------------------


def move(shop, comment_id: int, ticket_id: int) -> httpx.Response:
    return shop.api.post(f"/api/v1/comments/{comment_id}/move", json={"ticket_id": ticket_id})


def ticket_of(shop, ticket_id: int) -> dict:
    return shop.api.get(f"/api/v1/tickets/{ticket_id}").json()


def test_moving_a_text_to_the_customers_other_ticket(shops, sim, worker, ctx):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ipad = shop.ticket(jane["id"], subject="iPad")
    laptop = shop.ticket(jane["id"], subject="Laptop")  # its Initial Problem text is the most recent: replies go here
    worker.drain()
    twilio_text(sim, shop, phone_of(jane), "The iPad screen is cracked too", [media(png(), "image/png")])
    worker.drain()
    [text] = texts_by_customer(shop, laptop["id"])
    assert len(text["attachments"]) == 1
    before = ticket_of(shop, laptop["id"])
    assert before["needs_reply"] and before["status"] == "Customer Reply"

    moved = move(shop, text["id"], ipad["id"])

    assert moved.status_code == 200, moved.text
    assert moved.json() == {"id": text["id"], "ticket_id": ipad["id"], "from_ticket_id": laptop["id"]}
    [there] = texts_by_customer(shop, ipad["id"])
    assert there["body"] == "The iPad screen is cracked too" and there["author_name"] == "Jane Cooper"
    assert [a["id"] for a in there["attachments"]] == [a["id"] for a in text["attachments"]]
    assert texts_by_customer(shop, laptop["id"]) == []
    assert [m["body"] for m in inbound_messages(shop) if m["ticket_id"] == ipad["id"]] == [text["body"]]
    with ctx.db.transaction() as session:
        attachment = session.get(Attachment, text["attachments"][0]["id"])
        assert attachment.ticket_id == ipad["id"]
    # Each ticket tells what it now holds: the laptop's only customer word is gone, the iPad has an unanswered one.
    left, joined = ticket_of(shop, laptop["id"]), ticket_of(shop, ipad["id"])
    assert not left["needs_reply"] and left["last_activity_at"] < there["created_at"]
    assert joined["needs_reply"] and joined["last_activity_at"] == there["created_at"]
    assert joined["status"] == "Customer Reply"
    assert hidden_notes(shop, laptop["id"]) == [
        f"First key moved a text from Jane Cooper: “The iPad screen is cracked too” to ticket #{ipad['number']}."]
    assert hidden_notes(shop, ipad["id"]) == [
        f"First key moved a text from Jane Cooper: “The iPad screen is cracked too” here from ticket #{laptop['number']}."]
    # Both portals follow: the picture and the text are on the iPad's, as Jane's.
    assert "The iPad screen is cracked too" not in httpx.get(laptop["portal_url"]).text
    ipad_portal = httpx.get(ipad["portal_url"]).text
    assert "The iPad screen is cracked too" in ipad_portal and f"/attachments/{attachment.id}/thumbnail" in ipad_portal
    assert portal_names(ipad)[-1] == "You"
    with ctx.db.transaction() as session:
        kinds = {(e.kind, e.ticket_id) for e in session.scalars(select(Event).where(Event.shop_id == shop.id,
                                                                                    Event.comment_id.is_(None)))}
        moved_event = session.scalar(select(Event).where(Event.comment_id == text["id"], Event.ticket_id == ipad["id"]))
    assert {("ticket.updated", laptop["id"]), ("ticket.updated", ipad["id"])} <= kinds
    assert moved_event is not None and moved_event.kind == "comment.created"


def test_a_text_moved_to_another_customers_ticket_shows_the_number_and_moved_back_is_hers_again(shops, sim):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    hers = shop.ticket(jane["id"])
    bobs = shop.ticket(shop.customer("Bob Stone")["id"], subject="Bob's Xbox")
    twilio_text(sim, shop, phone_of(jane), "For Bob: it's ready?")
    [text] = texts_by_customer(shop, hers["id"])

    assert move(shop, text["id"], bobs["id"]).status_code == 200
    [there] = texts_by_customer(shop, bobs["id"])
    assert there["author_name"] == national(phone_of(jane))
    assert portal_names(bobs)[-1] == national(phone_of(jane)) and "You" not in portal_names(bobs)

    assert move(shop, text["id"], hers["id"]).status_code == 200
    assert [c["author_name"] for c in texts_by_customer(shop, hers["id"])] == ["Jane Cooper"]
    assert portal_names(hers)[-1] == "You"


def test_only_a_customers_text_moves_and_only_once(shops, sim):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    hers = shop.ticket(jane["id"])
    other = shop.ticket(jane["id"], subject="Other")
    staff_comment = shop.api.post(f"/api/v1/tickets/{hers['id']}/comments", json={"body": "Parts ordered"}).json()
    twilio_text(sim, shop, phone_of(jane), f"#{hers['number']} thanks")
    [text] = texts_by_customer(shop, hers["id"])

    refused = move(shop, staff_comment["id"], other["id"])
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "comment_id"
    assert move(shop, text["id"], hers["id"]).json()["errors"][0]["field"] == "ticket_id"  # already there
    assert move(shop, text["id"], 10**12).status_code == 422
    assert move(shop, 10**12, other["id"]).status_code == 404

    assert move(shop, text["id"], other["id"]).status_code == 200
    again = move(shop, text["id"], other["id"])
    assert again.status_code == 422 and "already on this ticket" in again.json()["errors"][0]["message"]
    assert len(hidden_notes(shop, other["id"])) == 1 and len(hidden_notes(shop, hers["id"])) == 1
    [note] = [c for c in shop.comments(other["id"]) if c["author"] == "system"]
    assert move(shop, note["id"], hers["id"]).status_code == 422


def test_moving_an_older_text_keeps_a_later_answer_as_the_last_word(shops, sim, ctx):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    wrong, right = shop.ticket(jane["id"], subject="Wrong"), shop.ticket(jane["id"], subject="Right")
    twilio_text(sim, shop, phone_of(jane), f"#{wrong['number']} hello")  # names the wrong ticket, say by mistake
    [text] = texts_by_customer(shop, wrong["id"])
    shop.api.post(f"/api/v1/tickets/{right['id']}/comments", json={"body": "We are on it"})
    shop.api.patch(f"/api/v1/tickets/{right['id']}", json={"status": "In Progress"})
    shop.api.post(f"/api/v1/tickets/{wrong['id']}/comments", json={"body": "Noted", "hidden": True})

    assert move(shop, text["id"], right["id"]).status_code == 200

    joined = ticket_of(shop, right["id"])
    assert not joined["needs_reply"] and joined["status"] == "In Progress"  # staff answered after that text
    assert joined["last_activity_at"] > text["created_at"]
    left = ticket_of(shop, wrong["id"])
    assert not left["needs_reply"] and left["status"] == "Customer Reply"  # what it was before: not guessed back
    with ctx.db.transaction() as session:
        assert session.get(Comment, text["id"]).ticket_id == right["id"]

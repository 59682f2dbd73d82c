"""The inbox and moving a text, through the staff pages' forms over real HTTP (signed in as a staff member): the
pictures of a text not yet placed, placing with and without adding the number, dismissing with a reason and the
dismissed list, moving a customer's text from its ticket page; every form once, and only for the shop's own."""

from __future__ import annotations

import html
import re

import httpx
from support.inbound import customer_with_number, inbox, media, open_shop, phone_of, png, twilio_text
from support.shops import fresh_number


def national(e164: str) -> str:
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def flash_of(page: httpx.Response) -> str:
    found = re.search(r'<div class="flash[^"]*"[^>]*>([^<]*)</div>', page.text)
    return html.unescape(found.group(1)) if found else ""


def authors(page: httpx.Response) -> list[str]:
    return [html.unescape(a) for a in re.findall(r'<strong class="author">([^<]*)</strong>', page.text)]


def stranger_in_the_inbox(shops, sim, body: str = "Is my phone ready?", items=None):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ticket = shop.ticket(jane["id"])
    stranger = fresh_number()
    twilio_text(sim, shop, stranger, body, items)
    [row] = inbox(shop)
    return shop, jane, ticket, stranger, row


def test_the_inbox_shows_a_texts_pictures_to_the_shops_staff_only(shops, sim, worker, staff):
    shop, _, _, stranger, row = stranger_in_the_inbox(shops, sim, "Look at this", [media(png(), "image/png")])
    desk = staff(shop)
    before = desk.get("/inbox").text
    assert "still being fetched" in before and f"/ui/inbox/{row['id']}/media/0" not in before
    worker.drain()

    page = desk.get("/inbox").text
    assert f'<img src="/ui/inbox/{row["id"]}/media/0/thumbnail" alt="Picture 1 from {national(stranger)} (opens full size)"' in page
    full = desk.get(f"/ui/inbox/{row['id']}/media/0")
    assert full.status_code == 200 and full.content.startswith(b"\x89PNG")
    assert full.headers["x-content-type-options"] == "nosniff" and "private" in full.headers["cache-control"]
    assert desk.get(f"/ui/inbox/{row['id']}/media/0/thumbnail").status_code == 200
    assert desk.get(f"/ui/inbox/{row['id']}/media/1").status_code == 404

    other = staff(open_shop(shops, name="B"))
    assert other.get(f"/ui/inbox/{row['id']}/media/0").status_code == 404
    assert other.get(f"/ui/inbox/{row['id']}/media/0/thumbnail").status_code == 404
    assert httpx.get(f"{desk.http.base_url}/ui/inbox/{row['id']}/media/0").status_code in (303, 401)


def test_placing_without_ticking_the_box_shows_the_number_and_ticking_it_adds_the_number(shops, sim, staff):
    shop, jane, ticket, stranger, row = stranger_in_the_inbox(shops, sim, "Hi, Jane's husband here")
    desk = staff(shop)
    page = desk.get("/inbox").text
    label = f"Add {national(stranger)} to <span id=\"link-name-{row['id']}\">the ticket's customer</span> as a mobile phone"
    assert label in page.replace("&#39;", "'")
    assert f'id="link-{row["id"]}" name="link_customer">' in page  # unticked unless someone ticks it

    placed = desk.submit(f"/inbox/{row['id']}/assign", ticket_id=str(ticket["id"]))
    shown = desk.follow(placed)
    assert flash_of(shown) == "Placed the text on this ticket."
    assert authors(shown)[-1] == national(stranger) and "not Jane Cooper's number</span>" in shown.text
    assert desk.submit(f"/inbox/{row['id']}/assign", ticket_id=str(ticket["id"])).headers["location"] == "/inbox"

    twilio_text(sim, shop, stranger, "Still me")
    [again] = inbox(shop)
    linked = desk.follow(desk.submit(f"/inbox/{again['id']}/assign", ticket_id=str(ticket["id"]), link_customer="on"))
    assert flash_of(linked) == f"Placed the text on this ticket; {national(stranger)} is one of Jane Cooper's phones now."
    assert authors(linked) == [national(stranger), "Jane Cooper", "System note"]  # each as it was written
    assert f"Sam Owner added {national(stranger)} to Jane Cooper as a mobile phone" in html.unescape(linked.text)
    phones = shop.api.get(f"/api/v1/customers/{jane['id']}").json()["phones"]
    assert {"number": stranger, "type": "mobile"} in phones


def test_placing_errors_are_shown_by_the_field(shops, sim, worker, ctx, staff):
    from support.inbound import age_outbound_texts

    shop = open_shop(shops)
    ann = customer_with_number(shop, name="Ann Lee")
    shop.ticket(ann["id"])
    shop.ticket(ann["id"], subject="Second")
    bobs = shop.ticket(shop.customer("Bob Stone")["id"], subject="Bob's")
    worker.drain()
    age_outbound_texts(ctx, shop, days=40)
    twilio_text(sim, shop, phone_of(ann), "Which one?")
    [row] = inbox(shop)
    desk = staff(shop)
    assert f'id="link-{row["id"]}"' not in desk.get("/inbox").text  # Ann's number: nothing to add

    missing = desk.submit(f"/inbox/{row['id']}/assign", ticket_id="")
    assert missing.status_code == 422
    assert f'id="ticket-error-{row["id"]}" role="alert">Choose the ticket this text belongs to</p>' in missing.text
    refused = desk.submit(f"/inbox/{row['id']}/assign", ticket_id=str(bobs["id"]), link_customer="on")
    assert refused.status_code == 422
    assert "is already Ann Lee&#39;s number" in refused.text and 'aria-invalid="true"' in refused.text
    assert len(inbox(shop)) == 1


def test_dismissing_with_a_reason_and_the_dismissed_list(shops, sim, staff):
    shop = open_shop(shops)
    twilio_text(sim, shop, fresh_number(), "WIN A CRUISE")
    twilio_text(sim, shop, fresh_number(), "Sorry, wrong number")
    spam, wrong = inbox(shop)
    desk = staff(shop)

    no_details = desk.submit(f"/inbox/{spam['id']}/dismiss", reason="other", details="  ")
    assert no_details.status_code == 422
    assert f'id="reason-error-{spam["id"]}" role="alert">Say why' in no_details.text
    assert desk.submit(f"/inbox/{spam['id']}/dismiss", reason="bogus").status_code == 422
    too_long = desk.submit(f"/inbox/{spam['id']}/dismiss", reason="other", details="x" * 600)
    assert too_long.status_code == 422 and "At most" in too_long.text
    assert len(inbox(shop)) == 2

    done = desk.submit(f"/inbox/{spam['id']}/dismiss", reason="spam")
    assert done.headers["location"] == "/inbox"
    page = desk.follow(done)
    assert flash_of(page) == "Dismissed the text. It is kept under Dismissed." and "Dismissed (1)" in page.text
    again = desk.follow(desk.submit(f"/inbox/{spam['id']}/dismiss", reason="spam"))
    assert flash_of(again).startswith("That text is no longer in the inbox")
    desk.submit(f"/inbox/{wrong['id']}/dismiss", reason="other", details="Called the shop instead")

    listed = desk.get("/inbox/dismissed")
    assert listed.status_code == 200
    text = html.unescape(listed.text)
    assert text.index("Sorry, wrong number") < text.index("WIN A CRUISE")  # newest first
    assert text.count("by Sam Owner") == 2 and "· Spam</p>" in text and "· Other: Called the shop instead</p>" in text
    assert inbox(shop) == []
    other = staff(open_shop(shops, name="B"))
    assert "WIN A CRUISE" not in other.get("/inbox/dismissed").text


def test_moving_a_text_from_its_ticket_page(shops, sim, worker, staff):
    shop = open_shop(shops)
    jane = customer_with_number(shop, name="Jane Cooper")
    ipad = shop.ticket(jane["id"], subject="iPad")
    laptop = shop.ticket(jane["id"], subject="Laptop")
    shop.api.post(f"/api/v1/tickets/{laptop['id']}/comments", json={"body": "Parts ordered"})
    worker.drain()  # the laptop's Initial Problem text is the last one sent: the reply lands there
    twilio_text(sim, shop, phone_of(jane), "About the iPad: any news?")
    [text] = [c for c in shop.comments(laptop["id"]) if c["author"] == "customer"]
    desk = staff(shop)

    page = desk.get(f"/tickets/{laptop['id']}").text
    assert page.count("Move to another ticket") == 1  # the customer's text, not the staff comment
    assert f'action="/tickets/{laptop["id"]}/comments/{text["id"]}/move"' in page
    assert 'label="Jane Cooper\'s other tickets"' in page and f"#{ipad['number']} iPad" in page

    moved = desk.submit(f"/tickets/{laptop['id']}/comments/{text['id']}/move", ticket_id=str(ipad["id"]))
    assert moved.headers["location"] == f"/tickets/{ipad['id']}#comment-{text['id']}"
    there = desk.follow(moved)
    assert flash_of(there) == f"Moved the text here from ticket #{laptop['number']}."
    assert "About the iPad: any news?" in there.text
    note = f"Sam Owner moved a text from Jane Cooper: “About the iPad: any news?” here from ticket #{laptop['number']}."
    assert note in html.unescape(there.text)
    left = desk.get(f"/tickets/{laptop['id']}").text
    assert f"to ticket #{ipad['number']}." in html.unescape(left) and "Move to another ticket" not in left

    twice = desk.submit(f"/tickets/{laptop['id']}/comments/{text['id']}/move", ticket_id=str(ipad["id"]))
    assert flash_of(desk.follow(twice)).startswith("That text is no longer on this ticket")
    same = desk.submit(f"/tickets/{ipad['id']}/comments/{text['id']}/move", ticket_id=str(ipad["id"]))
    assert same.status_code == 422 and "the text is already on this ticket" in same.text


def test_another_shops_texts_comments_and_tickets_cannot_be_used_from_the_pages(shops, sim, staff):
    shop, jane, ticket, _, row = stranger_in_the_inbox(shops, sim)
    twilio_text(sim, shop, phone_of(jane), "Mine")
    [text] = [c for c in shop.comments(ticket["id"]) if c["author"] == "customer"]
    other = open_shop(shops, name="B")
    theirs = other.ticket(other.customer("Marcus Lee")["id"])
    intruder = staff(other)

    assert intruder.submit(f"/inbox/{row['id']}/assign", ticket_id=str(theirs["id"])).headers["location"] == "/inbox"
    assert intruder.submit(f"/inbox/{row['id']}/dismiss", reason="spam").headers["location"] == "/inbox"
    assert intruder.get(f"/tickets/{ticket['id']}").status_code == 404
    stolen = intruder.submit(f"/tickets/{theirs['id']}/comments/{text['id']}/move", ticket_id=str(theirs["id"]))
    assert stolen.headers["location"] == f"/tickets/{theirs['id']}"
    assert flash_of(intruder.follow(stolen)).startswith("That text is no longer on this ticket")
    desk = staff(shop)
    wrong_ticket = desk.submit(f"/tickets/{ticket['id']}/comments/{text['id']}/move", ticket_id=str(theirs["id"]))
    assert wrong_ticket.status_code == 422 and f"no ticket {theirs['id']} in this shop" in wrong_ticket.text

    assert [r["id"] for r in inbox(shop)] == [row["id"]]
    assert [c["body"] for c in shop.comments(ticket["id"]) if c["author"] == "customer"] == ["Mine"]
    assert not [c for c in shop.comments(ticket["id"]) if c["author"] == "system"]  # nothing moved, no notes

"""Canned replies through their forms (no JavaScript): kept on the templates page, checked like templates with the
line named beside the reply, inserted on a ticket filled in for it; and never another shop's."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from repairtext.adapters.db.models import CannedReply


def _error_of(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else ""


def _reply_id(response) -> int:
    assert response.status_code == 303, response.text[:400]
    return int(re.fullmatch(r"/templates#canned-(\d+)", response.headers["location"]).group(1))


def test_adding_editing_and_deleting_a_canned_reply(shops, staff):
    shop = shops.create()
    web = staff(shop)
    added = web.submit("/templates/canned", title="  Part ordered ", body="Your part for #{{ ticket.number }} is ordered.")
    reply_id = _reply_id(added)
    page = web.follow(added).text
    assert "Added the canned reply “Part ordered”." in page.split(f'id="canned-{reply_id}"')[1].split("</form>")[0]
    assert f'action="/templates/canned/{reply_id}#canned-{reply_id}"' in page
    assert 'value="Part ordered"' in page and "Your part for #{{ ticket.number }} is ordered.</textarea>" in page

    edited = web.submit(f"/templates/canned/{reply_id}", title="Part on order", body="On order: #{{ ticket.number }}")
    assert _reply_id(edited) == reply_id
    assert "Saved the canned reply “Part on order”." in web.follow(edited).text

    deleted = web.submit(f"/templates/canned/{reply_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/templates#canned-replies"
    page = web.follow(deleted).text
    assert "Deleted the canned reply “Part on order”." in page and f'id="canned-{reply_id}"' not in page


def test_a_refused_reply_names_the_field_and_line_beside_the_form(shops, staff, ctx):
    shop = shops.create()
    web = staff(shop)
    bad = web.submit("/templates/canned", title="Pickup", body="Hi {{ customer.first_name }},\nbring {{ ticket.colour }}")
    assert bad.status_code == 422
    assert _error_of(bad.text, "canned-new-body").startswith("line 2: unknown variable &#39;ticket.colour&#39;")
    assert "bring {{ ticket.colour }}</textarea>" in bad.text and 'value="Pickup"' in bad.text  # the draft is kept
    assert 'action="/templates/canned#canned-new"' in bad.text  # the browser opens the page at the form

    bomb = "{{ 'aaaaaaaaaa'" + " | replace: 'a', 'aaaaaaaaaa'" * 8 + " }}"
    refused = web.submit("/templates/canned", title="Bomb", body=bomb)
    assert refused.status_code == 422 and refused.elapsed.total_seconds() < 1.0
    assert "can produce more than 40,000 characters" in _error_of(refused.text, "canned-new-body")

    both = web.submit("/templates/canned", title="x" * 81, body="  ")
    assert "at most 80 characters" in _error_of(both.text, "canned-new-title")
    assert _error_of(both.text, "canned-new-body") == "Write the reply"
    assert "NUL" in _error_of(web.submit("/templates/canned", title="a\x00b", body="ok").text, "canned-new-title")

    first = _reply_id(web.submit("/templates/canned", title="Ready", body="Ready for pickup"))
    again = web.submit("/templates/canned", title="ready", body="Come get it")
    assert again.status_code == 422 and "already a canned reply called" in _error_of(again.text, "canned-new-title")
    second = _reply_id(web.submit("/templates/canned", title="Waiting", body="Waiting on parts"))
    clash = web.submit(f"/templates/canned/{second}", title="READY", body="Waiting on parts")
    assert clash.status_code == 422 and "already a canned reply" in _error_of(clash.text, f"canned-{second}-title")
    assert 'value="READY"' in clash.text  # the refused draft beside its own reply
    with ctx.db.reading() as session:
        titles = session.scalars(select(CannedReply.title).where(CannedReply.shop_id == shop.id)
                                 .order_by(CannedReply.id)).all()
    assert titles == ["Ready", "Waiting"] and first < second


def test_a_reply_is_filled_in_for_the_ticket_with_and_without_javascript(shops, staff):
    shop = shops.create(name="Fix-It")
    ticket = shop.ticket(shop.customer("Ana Ruiz")["id"], subject="Pixel 8 screen")
    web = staff(shop)
    reply = _reply_id(web.submit("/templates/canned", title="Ordered",
                                 body="Hi {{ customer.first_name }}, {{ shop.name }} ordered the part for "
                                      "#{{ ticket.number }} ({{ ticket.subject }})."))
    page = web.get(f"/tickets/{ticket['id']}").text
    assert '<label for="canned">Insert canned reply</label>' in page
    assert f'<option value="{reply}">Ordered</option>' in page

    filled = web.get(f"/tickets/{ticket['id']}?canned={reply}")  # the menu's own GET form, without JavaScript
    assert filled.status_code == 200
    assert ">Hi Ana, Fix-It ordered the part for #1 (Pixel 8 screen).</textarea>" in filled.text

    answer = web.get(f"/ui/tickets/{ticket['id']}/canned-replies/{reply}")
    assert answer.status_code == 200
    assert answer.json() == {"id": reply, "text": "Hi Ana, Fix-It ordered the part for #1 (Pixel 8 screen)."}


def test_another_shop_cannot_read_use_edit_or_delete_a_canned_reply(shops, staff, ctx):
    mine, theirs = shops.create(name="Mine"), shops.create(name="Theirs")
    my_ticket = mine.ticket(mine.customer()["id"])
    their_ticket = theirs.ticket(theirs.customer()["id"])
    me, them = staff(mine), staff(theirs)
    reply = _reply_id(me.submit("/templates/canned", title="Secret wording", body="Our private note"))

    assert "Secret wording" not in them.get("/templates").text
    assert "Secret wording" not in them.get(f"/tickets/{their_ticket['id']}").text
    assert them.get(f"/ui/tickets/{their_ticket['id']}/canned-replies/{reply}").status_code == 404
    assert them.get(f"/tickets/{their_ticket['id']}?canned={reply}").status_code == 404
    assert them.submit(f"/templates/canned/{reply}", title="Taken", body="over").status_code == 404
    assert them.submit(f"/templates/canned/{reply}/delete").status_code == 404
    # My reply on their ticket: their ticket is not mine to read either.
    assert me.get(f"/ui/tickets/{their_ticket['id']}/canned-replies/{reply}").status_code == 404
    assert me.get(f"/ui/tickets/{my_ticket['id']}/canned-replies/{reply}").json()["text"] == "Our private note"
    # The same title is free in another shop.
    assert them.submit("/templates/canned", title="Secret wording", body="Theirs").status_code == 303
    with ctx.db.reading() as session:
        rows = session.execute(select(CannedReply.shop_id, CannedReply.title, CannedReply.body)
                               .order_by(CannedReply.id)).all()
        assert session.scalar(select(func.count()).select_from(CannedReply)) == 2
    assert [tuple(r) for r in rows] == [(mine.id, "Secret wording", "Our private note"),
                                        (theirs.id, "Secret wording", "Theirs")]


def test_canned_replies_want_a_signed_in_form(shops, staff, live_server, ctx):
    import httpx

    shop = shops.create()
    web = staff(shop)
    forged = web.http.post("/templates/canned", data={"csrf": "wrong", "title": "X", "body": "Y"})
    assert forged.status_code == 403
    ticket = shop.ticket(shop.customer()["id"])
    with httpx.Client(base_url=live_server.url) as stranger:
        assert stranger.get(f"/ui/tickets/{ticket['id']}/canned-replies/1").status_code == 401
        assert stranger.post("/templates/canned", data={"title": "X", "body": "Y"}).status_code == 303  # to sign-in
    with ctx.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CannedReply)) == 0

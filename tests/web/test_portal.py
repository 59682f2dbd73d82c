"""The customer portal: one ticket by its secret link, public comments and public pictures only."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select, update

from repairtext.adapters.db.models import Attachment


def test_portal_shows_public_comments_and_hides_hidden_ones(shops):
    shop = shops.create(name="Fix-It Phone Repair")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="iPhone 14 cracked screen")
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Parts ordered, back Thursday"})
    shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Charge her double", "hidden": True})
    shop.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "Waiting for Parts"})

    page = httpx.get(ticket["portal_url"])
    assert page.status_code == 200
    assert "#1" in page.text and "iPhone 14 cracked screen" in page.text and "Fix-It Phone Repair" in page.text
    assert "Waiting for Parts" in page.text and "Parts ordered, back Thursday" in page.text
    assert "Charge her double" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and "noindex" in page.headers["x-robots-tag"]
    assert "Sign out" not in page.text  # no staff chrome for customers


def test_portal_serves_only_this_tickets_public_pictures(shops, staff, mms_reply, ctx):
    shop = shops.create()
    jane = shop.customer("Jane Cooper")
    ticket = shop.ticket(jane["id"])
    other = shop.ticket(shop.customer("Marcus Lee")["id"], subject="Battery")
    mms_reply(shop, jane["phones"][0]["number"], "Here is the crack")

    with ctx.db.transaction() as session:
        attachment = session.scalar(select(Attachment).where(Attachment.ticket_id == ticket["id"]))
    base = ticket["portal_url"]
    page = httpx.get(base).text
    assert "Here is the crack" in page
    assert f'/attachments/{attachment.id}/thumbnail"' in page

    full = httpx.get(f"{base}/attachments/{attachment.id}")
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff" and full.content.startswith(b"\x89PNG")
    thumb = httpx.get(f"{base}/attachments/{attachment.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["x-content-type-options"] == "nosniff"
    assert thumb.headers["content-type"].startswith("image/")

    # Another ticket's link cannot reach it, nor can a made-up one.
    assert httpx.get(f"{other['portal_url']}/attachments/{attachment.id}").status_code == 404
    made_up = re.sub(r"/(p|portal)/[^/]+", "/p/nope", base)
    assert httpx.get(f"{made_up}/attachments/{attachment.id}").status_code == 404

    # Staff see it through their own session; another shop's staff do not.
    assert staff(shop).get(f"/ui/attachments/{attachment.id}/thumbnail").status_code == 200
    assert staff(shops.create(name="B")).get(f"/ui/attachments/{attachment.id}").status_code == 404

    # Made private, it disappears from the portal page and its URLs.
    with ctx.db.transaction() as session:
        session.execute(update(Attachment).where(Attachment.id == attachment.id).values(public=False))
    assert f"/attachments/{attachment.id}" not in httpx.get(base).text
    assert httpx.get(f"{base}/attachments/{attachment.id}").status_code == 404
    assert httpx.get(f"{base}/attachments/{attachment.id}/thumbnail").status_code == 404


def test_unknown_portal_link_is_a_404_page(shops, live_server):
    shops.create()
    response = httpx.get(f"{live_server.url}/portal/not-a-real-token")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "sign-in" not in response.text

"""Error pages over real HTTP: a signed-in person keeps the navigation and a way back on a 404 or an expired
form, and sees nothing of another shop; a signed-out person gets a plain page with a sign-in link. A missing
attachment opened in a browser is a page; scripts and the API keep problem+json."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from repairtext.adapters.db.models import Attachment

# What a browser sends when a person opens a link (Chromium's navigation Accept header).
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}
NAV = 'aria-label="Main"'


def _shop_with_a_secret(shops, name: str):
    shop = shops.create(name=name)
    ticket = shop.ticket(shop.customer(f"{name} Customer")["id"], subject=f"{name}'s secret repair")
    return shop, ticket


def _has_staff_chrome(html: str, shop_name: str) -> bool:
    return NAV in html and "Sign out" in html and f'<span class="shop-name">{shop_name}</span>' in html


def test_a_signed_in_404_keeps_the_navigation_and_shows_nothing_of_another_shop(shops, staff, live_server):
    mine, _ = _shop_with_a_secret(shops, "Alpha Repair")
    theirs, their_ticket = _shop_with_a_secret(shops, "Bravo Repair")
    web = staff(mine)

    for path in (f"/tickets/{their_ticket['id']}", "/no-such-page", "/tickets/999999"):
        page = web.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert _has_staff_chrome(page.text, "Alpha Repair"), path
        assert 'href="/tickets">Back to tickets</a>' in page.text and "Go to sign-in" not in page.text
        assert "Bravo" not in page.text and their_ticket["portal_url"] not in page.text, path

    # A way back to where the person was, when that was one of our pages; never to another site.
    came_from = web.http.get("/no-such-page", headers={"Referer": f"{live_server.url}/credits"})
    assert 'href="/credits">Go back</a>' in came_from.text
    elsewhere = web.http.get("/no-such-page", headers={"Referer": "https://evil.example/credits"})
    assert "evil.example" not in elsewhere.text and "Go back" not in elsewhere.text


def test_a_signed_out_404_is_a_plain_page_with_a_sign_in_link(shops, live_server):
    shops.create()
    for cookies in ({}, {"rt_session": "ended-or-made-up"}):
        page = httpx.get(f"{live_server.url}/no-such-page", cookies=cookies)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert NAV not in page.text and "Sign out" not in page.text and "Back to tickets" not in page.text
        assert 'href="/">Go to sign-in</a>' in page.text


def test_an_expired_form_keeps_the_navigation_and_leads_back_to_the_form(shops, staff, live_server):
    mine, ticket = _shop_with_a_secret(shops, "Alpha Repair")
    _shop_with_a_secret(shops, "Bravo Repair")
    web = staff(mine)
    form = f"/tickets/{ticket['id']}"
    refused = web.http.post(f"{form}/comments", data={"body": "Screen replaced", "csrf": "from-an-old-tab"},
                            headers={"Referer": f"{live_server.url}{form}"})
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert _has_staff_chrome(refused.text, "Alpha Repair") and "Bravo" not in refused.text
    assert f'href="{form}">Back to the form</a>' in refused.text and 'href="/tickets">Back to tickets</a>' in refused.text
    assert [c for c in mine.comments(ticket["id"]) if c["author"] == "staff"] == []  # nothing saved
    # The new CSRF token on the error page is the session's own: the form works again from there.
    assert web.submit(f"{form}/comments", body="Screen replaced").status_code == 303


def _attachment_of(ctx, ticket_id: int) -> Attachment:
    with ctx.db.transaction() as session:
        return session.scalar(select(Attachment).where(Attachment.ticket_id == ticket_id))


def test_a_missing_staff_attachment_is_a_page_in_a_browser_and_problem_json_for_scripts(
        shops, staff, mms_reply, ctx, live_server):
    owner = shops.create(name="Alpha Repair")
    jane = owner.customer("Jane Cooper")
    ticket = owner.ticket(jane["id"], subject="Alpha's secret repair")
    mms_reply(owner, jane["phones"][0]["number"], "Here is the crack")
    attachment = _attachment_of(ctx, ticket["id"])
    other = staff(shops.create(name="Bravo Repair"))

    for path in (f"/ui/attachments/{attachment.id}", f"/ui/attachments/{attachment.id}/thumbnail",
                 "/ui/attachments/999999"):
        page = other.http.get(path, headers=BROWSER)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert _has_staff_chrome(page.text, "Bravo Repair") and "Alpha" not in page.text, path
        assert "Jane" not in page.text and attachment.file_name not in page.text, path
        script = other.http.get(path, headers={"Accept": "application/json"})
        assert script.status_code == 404 and script.headers["content-type"] == "application/problem+json", path
        assert other.http.get(path).headers["content-type"] == "application/problem+json"  # Accept: */*

    # Its own shop still gets the bytes; a file gone from storage is a page too.
    mine = staff(owner)
    assert mine.http.get(f"/ui/attachments/{attachment.id}", headers=BROWSER).content.startswith(b"\x89PNG")
    ctx.blobs.delete(attachment.blob_key)
    gone = mine.http.get(f"/ui/attachments/{attachment.id}", headers=BROWSER)
    assert gone.status_code == 404 and _has_staff_chrome(gone.text, "Alpha Repair")

    # Signed out, a browser is sent to sign in and back; a script is told to sign in again.
    signed_out = httpx.get(f"{live_server.url}/ui/attachments/{attachment.id}", headers=BROWSER)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/sign-in?next=/ui/attachments/{attachment.id}"
    assert httpx.get(f"{live_server.url}/ui/attachments/{attachment.id}").status_code == 401

    # The API keeps its contract whatever the client accepts.
    api = owner.api.get("/api/v1/attachments/999999", headers=BROWSER)
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_a_missing_portal_attachment_is_the_portals_404_page(shops, staff, mms_reply, ctx):
    shop = shops.create(name="Alpha Repair")
    jane = shop.customer("Jane Cooper")
    ticket = shop.ticket(jane["id"], subject="Alpha's secret repair")
    other_ticket = shop.ticket(shop.customer("Marcus Lee")["id"], subject="Battery")
    mms_reply(shop, jane["phones"][0]["number"], "Here is the crack")
    attachment = _attachment_of(ctx, ticket["id"])
    signed_in_browser = staff(shop).http  # the staff's own browser opening a customer's link: still the portal's

    for client in (httpx.Client(timeout=30), signed_in_browser):
        for base in (other_ticket["portal_url"], other_ticket["portal_url"].replace("/p/", "/portal/")):
            for path in (f"/attachments/{attachment.id}", "/attachments/999999/thumbnail"):
                page = client.get(base + path, headers=BROWSER)
                assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), base + path
                assert page.headers["referrer-policy"] == "no-referrer" and "noindex" in page.headers["x-robots-tag"]
                assert NAV not in page.text and "Sign out" not in page.text and "sign-in" not in page.text
                assert "Alpha" not in page.text and "Jane" not in page.text

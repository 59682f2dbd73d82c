"""The ticket desk: adding customers, opening tickets, the conversation with its texts, status and live cost."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from support.shops import eventually, fresh_number

from repairtext.adapters.db.models import Customer


def _error_of(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else ""


def test_adding_a_customer_shows_each_error_next_to_its_field(shops, staff, ctx):
    shop = shops.create()
    web = staff(shop)

    bad = web.submit("/customers", name="Jane Cooper", phone="not a phone", phone_type="mobile", sms_enabled="on")
    assert bad.status_code == 422
    assert "is not a phone number" in _error_of(bad.text, "phone") and _error_of(bad.text, "email") == ""
    assert 'value="Jane Cooper"' in bad.text and 'value="not a phone"' in bad.text  # what was typed comes back
    bad = web.submit("/customers", name="Jane Cooper", phone="", email="nope")
    assert bad.status_code == 422 and "email address" in _error_of(bad.text, "email")
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0

    added = web.submit("/customers", name="Jane Cooper", phone="(206) 555-0134", phone_type="home")
    page = web.follow(added)
    assert "Added Jane Cooper" in page.text
    assert re.search(r'<option value="\d+" selected>Jane Cooper · \(206\) 555-0134</option>', page.text)
    customer = shop.api.get(f"/api/v1/customers/{added.headers['location'].split('=')[1].split('#')[0]}").json()
    assert customer["phones"] == [{"number": "+12065550134", "type": "home"}] and customer["sms_enabled"] is False


def test_opening_tickets_lists_them_newest_first_with_their_status(shops, staff):
    shop = shops.create()
    customer = shop.customer("Jane Cooper")
    web = staff(shop)

    missing = web.submit("/tickets", customer_id=str(customer["id"]), subject="  ")
    assert missing.status_code == 422 and "Give the ticket a subject" in _error_of(missing.text, "subject")

    first = web.follow(web.submit("/tickets", customer_id=str(customer["id"]), subject="Cracked screen"))
    assert "Opened ticket #1." in first.text
    web.submit("/tickets", customer_id=str(customer["id"]), subject="Battery swap", problem="Drains by noon")

    listing = web.get("/tickets").text
    assert listing.index("Battery swap") < listing.index("Cracked screen")
    rows = re.findall(r'<tr[^>]*>\s*<td class="num">(\d+)</td>.*?</tr>', listing, re.S)
    assert rows == ["2", "1"]
    assert listing.count('<span class="badge tone-blue">New</span>') == 2


def test_a_comment_with_a_text_shows_the_text_and_its_delivery(shops, staff, worker):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    web = staff(shop)

    posted = web.submit(f"/tickets/{ticket['id']}/comments", body="Screen ordered", sms_body="Your screen is in!")
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"/tickets/{ticket['id']}#comment-")
    assert "Comment posted and text queued (1 segment)." in web.follow(posted).text
    web.submit(f"/tickets/{ticket['id']}/comments", body="Supplier charged $40", hidden="on")
    worker.drain()

    def comment_once_delivered():
        html = web.get(f"/tickets/{ticket['id']}").text
        comment = html[html.index("Screen ordered"):html.index("Supplier charged $40")]
        # Both callbacks: the simulator posts "sent" and "delivered" on their own, so either may land first.
        done = '<span class="badge tone-green">delivered</span>' in comment and "<strong>sent</strong>" in comment
        return (html, comment) if done else None

    html, comment = eventually(comment_once_delivered)
    assert "Your screen is in!" in comment
    assert "1 segment · 1 credit · GSM-7" in comment
    assert "Status history" in comment and "<strong>sent</strong>" in comment
    hidden = html[:html.index("Supplier charged $40")]
    assert hidden.rindex('<span class="tag tag-hidden">Hidden</span>') > hidden.rindex("Screen ordered")


def test_empty_comment_is_refused_next_to_the_box(shops, staff):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    refused = staff(shop).submit(f"/tickets/{ticket['id']}/comments", body=" ", sms_body="")
    assert refused.status_code == 422 and "write a comment, an SMS text, or both" in _error_of(refused.text, "body")


def test_the_page_says_why_a_customer_cannot_be_texted(shops, staff):
    shop = shops.create()
    customer = shop.customer("Rosa Diaz", phones=[{"number": fresh_number(), "type": "home"}])
    ticket = shop.ticket(customer["id"])
    web = staff(shop)

    page = web.get(f"/tickets/{ticket['id']}").text
    assert "Cannot text: Rosa Diaz has no phone typed mobile (only home); mark a phone as mobile." in page

    posted = web.follow(web.submit(f"/tickets/{ticket['id']}/comments", body="Ready", sms_body="Ready!"))
    assert "Comment posted, but not texted: Rosa Diaz has no phone typed mobile" in posted.text
    assert '<span class="badge tone-red">rejected</span>' in posted.text


def test_changing_status_sends_its_template(shops, staff):
    shop = shops.create(name="Fix-It")
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"], subject="Cracked screen")
    web = staff(shop)
    page = web.get(f"/tickets/{ticket['id']}").text
    assert '<option value="Ready for Pickup">Ready for Pickup — texts customer</option>' in page

    changed = web.follow(web.submit(f"/tickets/{ticket['id']}/status", status="Ready for Pickup"))
    assert "Status is now Ready for Pickup." in changed.text
    assert '<span class="badge tone-green">Ready for Pickup</span>' in changed.text
    assert f"Good news Jane! Ticket #{ticket['number']} (Cracked screen) is ready for pickup at Fix-It." in changed.text

    refused = web.follow(web.submit(f"/tickets/{ticket['id']}/status", status="Lost"))
    assert "unknown status &#39;Lost&#39;" in refused.text


def test_live_cost_counts_like_the_sender(shops, staff):
    web = staff(shops.create())
    cost = web.http.post("/ui/segments", json={"text": "x" * 161}).json()
    assert cost == {"encoding": "GSM-7", "segments": 2, "credits": 2, "provider": "twilio", "characters": 161,
                    "sent_as": None, "culprits": [], "more_culprits": 0, "plain": None}
    emoji = web.http.post("/ui/segments", json={"text": "Ready 📱"}).json()
    assert emoji["encoding"] == "UCS-2" and emoji["plain"] is None
    assert [(c["character"], c["name"], c["plain"]) for c in emoji["culprits"]] == [("📱", "mobile phone", None)]
    assert web.http.post("/ui/segments", json={"text": "x" * 10_001}).status_code == 422


def test_user_text_is_escaped(shops, staff):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("<b>Bob</b>")["id"], subject="<script>alert(1)</script>")
    web = staff(shop)
    web.submit(f"/tickets/{ticket['id']}/comments", body="<img src=x onerror=alert(1)>")
    page = web.get(f"/tickets/{ticket['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<b>Bob</b>" not in page


def test_the_demo_plays_a_customer_reply_with_a_photo(shops, staff, ctx, sim, worker):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    web = staff(shop)
    assert "Demo: customer replies" not in web.get(f"/tickets/{ticket['id']}").text
    assert web.submit(f"/tickets/{ticket['id']}/demo-reply", body="hi").status_code == 404

    ctx.demo_simulator_url = sim.url  # what `repairtext demo` sets
    assert "Demo: customer replies" in web.get(f"/tickets/{ticket['id']}").text
    web.submit(f"/tickets/{ticket['id']}/demo-reply", body="Here is a photo", photo="on")
    worker.drain()
    page = web.get(f"/tickets/{ticket['id']}").text
    reply = page[page.index("Here is a photo") - 800:]
    assert '<span class="tag tag-via">by text</span>' in reply and "/ui/attachments/" in reply
    assert '<span class="badge tone-rose">Customer Reply</span>' in page

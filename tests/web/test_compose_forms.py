"""The compose form without JavaScript: both boxes are there, "Also text this" (a script's control) is not, and the
server decides from what was posted: a non-empty SMS text is texted, an empty one is not."""

from __future__ import annotations

import re


def _compose(html: str) -> str:
    return html[html.index('<section class="card compose"'):html.index("</section>", html.index('id="compose"'))]


def test_without_javascript_both_boxes_show_and_the_script_only_parts_stay_hidden(shops, staff):
    shop = shops.create()
    ticket = shop.ticket(shop.customer()["id"])
    form = _compose(staff(shop).get(f"/tickets/{ticket['id']}").text)
    assert '<label for="body">Comment</label>' in form and ">Post comment</button>" in form
    assert re.search(r'<div class="field" id="sms-field">\s*<label for="sms_body">SMS text', form)
    assert "Leave it empty to post without texting." in form
    assert '<div class="check" data-also-text hidden>' in form
    assert 'id="compose-preview" hidden' in form and "data-shortcut hidden" in form
    assert "disabled" not in form
    assert "Insert canned reply" not in form  # none yet: no empty menu


def test_the_server_texts_what_was_posted_and_keeps_a_refused_draft(shops, staff):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    web = staff(shop)
    path = f"/tickets/{ticket['id']}/comments"

    texted = web.follow(web.submit(path, body="Screen in", sms_body="Your screen is in!"))  # no also_text: no script
    assert "Comment posted and text queued (1 segment)." in texted.text
    quiet = web.follow(web.submit(path, body="Called the supplier", also_text="on", sms_body=""))
    assert "Comment posted." in quiet.text
    assert [m["body"] for m in shop.messages(ticket_id=ticket["id"]) if m["body"] in
            ("Your screen is in!", "Called the supplier")] == ["Your screen is in!"]

    refused = web.submit(path, body="x" * 20_001, also_text="on", sms_body="Ready “soon”")
    assert refused.status_code == 422
    form = _compose(refused.text)
    assert 'id="also_text" name="also_text" checked' in form and ">Ready “soon”</textarea>" in form
    assert re.search(r'id="body-error"[^>]*>[^<]*20000', form)

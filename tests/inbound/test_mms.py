"""MMS through the real webhooks with real image bytes: the text lands at once, the worker fetches the media
(from allowed hosts only, at most 5 MB, retrying 404s), keeps JPEG/PNG/GIF as public attachments with
thumbnails on the customer's one comment, and leaves a hidden note for anything it refused."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from support.inbound import (
    PDF,
    VCARD,
    customer_comments,
    customer_with_number,
    decompression_bomb,
    flowroute_shop,
    flowroute_text,
    gif,
    hidden_notes,
    inbound_messages,
    inbox,
    jpeg,
    media,
    noisy_png,
    open_shop,
    opened,
    phone_of,
    png,
    ticket_status,
    twilio_text,
)
from support.shops import fresh_number

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def media_server():
    """A plain HTTP server that serves given bytes by path and records every request it gets."""
    server = _MediaServer()
    yield server
    server.close()


class _MediaServer:
    def __init__(self):
        self.files: dict[str, tuple[str, bytes]] = {}
        self.failures: dict[str, list[int]] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                content_type, data = owner.files.get(self.path, ("text/plain", None))
                failures = owner.failures.get(self.path) or []
                if failures:
                    content_type, data, status = "text/plain", b"try again", failures.pop(0)
                else:
                    status = 200 if data is not None else 404
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path: str, content_type: str, data: bytes, fail_with: tuple[int, ...] = ()) -> str:
        self.files[path], self.failures[path] = (content_type, data), list(fail_with)
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def shop_with_a_ticket(shops, number: str | None = None):
    shop = open_shop(shops)
    customer = customer_with_number(shop, number)
    return shop, customer, shop.ticket(customer["id"])


def fetch(shop, url: str) -> httpx.Response:
    response = shop.api.get(url)
    assert response.status_code == 200, response.text
    return response


def the_reply(shop, ticket_id: int) -> dict:
    [reply] = customer_comments(shop, ticket_id)
    assert reply["public"] is True
    return reply


def flowroute_mms_document(shop, sender: str, body: str, urls: list[tuple[str, str]], message_id: str) -> dict:
    """Flowroute's inbound JSON:API document, written by hand so the media URLs can be anything."""
    included = [{"id": f"media-{i}", "type": "media",
                 "attributes": {"file_name": f"image{i:06d}.jpg", "file_size": 1000, "mime_type": content_type,
                                "url": url}} for i, (url, content_type) in enumerate(urls)]
    return {"data": {"id": message_id, "type": "message",
                     "attributes": {"from": sender.lstrip("+"), "to": shop.number.lstrip("+"), "body": body,
                                    "direction": "inbound", "is_mms": True, "timestamp": "2026-03-10T15:00:00.00Z"},
                     "relationships": {"media": {"data": [{"id": m["id"], "type": "media"} for m in included]}}},
            "included": included}


def post_flowroute(live_server, shop, document: dict) -> None:
    url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"
    response = httpx.post(url, json=document, headers={"Content-Type": "application/vnd.api+json"}, timeout=30)
    assert response.status_code == 200, response.text


# --- images that are kept --------------------------------------------------------------------------------


def test_several_images_become_attachments_with_thumbnails_on_one_comment(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)
    photo, screenshot, animation = jpeg((640, 480), orientation=6), png((1000, 500)), gif((120, 90))

    twilio_text(sim, shop, phone_of(customer), "Here is the damage", [
        media(photo, "image/jpeg"), media(screenshot, "image/png"), media(animation, "image/gif")])
    assert the_reply(shop, ticket["id"])["attachments"] == []  # answered first; media come from the outbox
    worker.drain()

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "Here is the damage"
    assert [(a["content_type"], a["size"] > 0) for a in reply["attachments"]] == [
        ("image/jpeg", True), ("image/png", True), ("image/gif", True)]
    assert ticket_status(shop, ticket["id"]) == "Customer Reply"
    assert hidden_notes(shop, ticket["id"]) == []

    sizes = {}
    for attachment in reply["attachments"]:
        original = fetch(shop, attachment["url"])
        assert original.headers["content-type"] == attachment["content_type"]
        assert len(original.content) == attachment["size"]
        thumbnail = fetch(shop, attachment["thumbnail_url"])
        sizes[attachment["content_type"]] = (opened(original.content).size, opened(thumbnail.content).size,
                                             thumbnail.headers["content-type"])

    # EXIF orientation 6: the 640x480 sensor image is shown upright, 480x640, with its left (red) half on top.
    assert sizes["image/jpeg"] == ((480, 640), (240, 320), "image/jpeg")
    upright = opened(fetch(shop, reply["attachments"][0]["url"]).content).convert("RGB")
    top, bottom = upright.getpixel((240, 20)), upright.getpixel((240, 620))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    assert sizes["image/png"] == ((1000, 500), (320, 160), "image/png")
    assert sizes["image/gif"] == ((120, 90), (120, 90), "image/png")  # never upscaled; a GIF's frame as PNG
    assert fetch(shop, reply["attachments"][2]["url"]).content == animation  # the animation kept whole

    # The customer's portal shows the text with the three thumbnails, each linking to the full picture.
    portal = httpx.get(ticket["portal_url"], timeout=10)
    assert portal.status_code == 200 and "Here is the damage" in portal.text
    token = ticket["portal_url"].rsplit("/", 1)[1]
    for attachment in reply["attachments"]:
        thumbnail_path = f"/portal/{token}/attachments/{attachment['id']}/thumbnail"
        assert thumbnail_path in portal.text
        shown = httpx.get(ticket["portal_url"].rsplit("/p/", 1)[0] + thumbnail_path, timeout=10)
        assert shown.status_code == 200 and max(opened(shown.content).size) <= 320


def test_flowroute_media_need_no_auth_and_keep_their_file_names(shops, sim, worker):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])

    flowroute_text(sim, shop, phone_of(customer), "Both sides", [media(png((300, 600)), "image/png"),
                                                                 media(jpeg((800, 800)), "image/jpeg")])
    worker.drain()

    reply = the_reply(shop, ticket["id"])
    assert [(a["file_name"], a["content_type"]) for a in reply["attachments"]] == [
        ("image000000.png", "image/png"), ("image000001.jpg", "image/jpeg")]
    assert opened(fetch(shop, reply["attachments"][1]["thumbnail_url"]).content).size == (320, 320)


def test_a_picture_without_text_still_makes_one_comment(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)

    twilio_text(sim, shop, phone_of(customer), "", [media(jpeg(), "image/jpeg")])
    worker.drain()

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "" and len(reply["attachments"]) == 1


def test_a_media_url_that_404s_twice_then_works_is_attached(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)

    twilio_text(sim, shop, phone_of(customer), "Receipt attached", [media(png((200, 100)), "image/png", fail_first=2)])
    worker.drain()

    [attachment] = the_reply(shop, ticket["id"])["attachments"]
    assert attachment["content_type"] == "image/png"
    assert hidden_notes(shop, ticket["id"]) == []


def test_server_errors_are_retried_too(shops, sim, worker, live_server, media_server):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    url = media_server.add("/flaky.jpg", "image/jpeg", jpeg(), fail_with=(503, 500))

    post_flowroute(live_server, shop, flowroute_mms_document(shop, phone_of(customer), "flaky",
                                                             [(url, "image/jpeg")], "mdr2-flaky"))
    worker.drain()

    assert media_server.requests == ["/flaky.jpg"] * 3
    assert len(the_reply(shop, ticket["id"])["attachments"]) == 1


def test_the_bytes_decide_the_type_not_the_label(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)
    screenshot = png((200, 400))

    twilio_text(sim, shop, phone_of(customer), "screenshot", [media(screenshot, "image/jpeg")])
    worker.drain()

    [attachment] = the_reply(shop, ticket["id"])["attachments"]
    assert attachment["content_type"] == "image/png"
    assert fetch(shop, attachment["url"]).content == screenshot


def test_a_canadian_sender_may_send_mms(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops, "+14165550123")

    twilio_text(sim, shop, phone_of(customer), "From Toronto", [media(jpeg(), "image/jpeg")])
    worker.drain()

    assert len(the_reply(shop, ticket["id"])["attachments"]) == 1


# --- what is refused -----------------------------------------------------------------------------------------


def test_non_images_are_not_attached_and_a_hidden_note_says_what_was_sent(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)

    twilio_text(sim, shop, phone_of(customer), "My details and the photo", [
        media(VCARD, "text/vcard"), media(jpeg(), "image/jpeg"), media(PDF, "image/jpeg")])
    worker.drain()

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "My details and the photo"
    assert [a["content_type"] for a in reply["attachments"]] == ["image/jpeg"]
    [note] = hidden_notes(shop, ticket["id"])
    assert "text/vcard" in note and "application/pdf is not an image" in note
    portal = httpx.get(ticket["portal_url"], timeout=10).text
    assert "My details and the photo" in portal and "text/vcard" not in portal and "not attached" not in portal
    assert [c["author"] for c in shop.comments(ticket["id"]) if not c["public"]] == ["system"]


def test_an_oversized_file_is_refused(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)
    huge = noisy_png(FIVE_MB + 1)

    twilio_text(sim, shop, phone_of(customer), "Full resolution", [media(huge, "image/png")])
    worker.drain()

    assert the_reply(shop, ticket["id"])["attachments"] == []
    [note] = hidden_notes(shop, ticket["id"])
    assert "image/png" in note and f"larger than the {FIVE_MB}-byte limit" in note


def test_a_decompression_bomb_is_refused(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)
    bomb = decompression_bomb()
    assert len(bomb) < 200_000  # 400 megapixels in a small file

    twilio_text(sim, shop, phone_of(customer), "look", [media(bomb, "image/png"), media(png((64, 64)), "image/png")])
    worker.drain()

    assert [a["size"] for a in the_reply(shop, ticket["id"])["attachments"]] == [len(png((64, 64)))]
    [note] = hidden_notes(shop, ticket["id"])
    assert "decompression bomb" in note


def test_a_media_url_on_a_host_not_allowed_is_never_fetched(shops, sim, worker, live_server, media_server):
    """The tests' allowlist is 127.0.0.1 only: `localhost` is the same machine but not an allowed name."""
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    allowed = media_server.add("/ok.jpg", "image/jpeg", jpeg())
    media_server.add("/internal.jpg", "image/jpeg", jpeg())
    forbidden = f"http://localhost:{media_server.port}/internal.jpg"

    post_flowroute(live_server, shop, flowroute_mms_document(
        shop, phone_of(customer), "two pictures", [(forbidden, "image/jpeg"), (allowed, "image/jpeg")], "mdr2-ssrf"))
    worker.drain()

    assert media_server.requests == ["/ok.jpg"]
    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "two pictures" and len(reply["attachments"]) == 1
    [note] = hidden_notes(shop, ticket["id"])
    assert "host localhost is not an allowed media host" in note


def test_only_ten_media_per_message_are_fetched(shops, sim, worker, live_server, media_server):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    urls = [(media_server.add(f"/{i}.png", "image/png", png((40 + i, 40))), "image/png") for i in range(11)]

    post_flowroute(live_server, shop, flowroute_mms_document(shop, phone_of(customer), "lots", urls, "mdr2-eleven"))
    worker.drain()

    assert len(the_reply(shop, ticket["id"])["attachments"]) == 10
    assert "/10.png" not in media_server.requests
    [note] = hidden_notes(shop, ticket["id"])
    assert "more than 10 media" in note


def test_mms_from_outside_the_us_and_canada_keeps_the_text_and_refuses_the_media(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops, "+447400123456")

    result = twilio_text(sim, shop, phone_of(customer), "Photo from London", [media(jpeg(), "image/jpeg")],
                         from_country="GB")
    worker.drain()

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "Photo from London" and reply["attachments"] == []
    [note] = hidden_notes(shop, ticket["id"])
    assert "image/jpeg" in note and "only supported for US and Canadian numbers" in note
    assert inbound_messages(shop)[0]["provider_id"] == result["sid"]


def test_mms_from_a_caribbean_plus_one_number_is_refused(shops, sim, worker):
    """Country code 1 is not enough: Jamaica (+1 876) shares it, but MMS is carried only for the US and Canada."""
    shop, customer, ticket = shop_with_a_ticket(shops, "+18762101234")

    twilio_text(sim, shop, phone_of(customer), "Photo from Kingston", [media(jpeg(), "image/jpeg")])
    worker.drain()

    assert the_reply(shop, ticket["id"])["attachments"] == []
    [note] = hidden_notes(shop, ticket["id"])
    assert "only supported for US and Canadian numbers" in note


def test_a_download_that_keeps_failing_leaves_the_text_and_a_note_and_stops(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)

    twilio_text(sim, shop, phone_of(customer), "Did you get the photo?",
                [media(jpeg(), "image/jpeg", fail_first=1000)])
    assert worker.drain() >= 1

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "Did you get the photo?" and reply["attachments"] == []
    [note] = hidden_notes(shop, ticket["id"])
    assert "could not be downloaded" in note and "HTTP 404" in note
    assert worker.drain() == 0  # nothing left to retry
    assert hidden_notes(shop, ticket["id"]) == [note]


# --- media of a text in the inbox ----------------------------------------------------------------------


@pytest.mark.parametrize("assign_first", [False, True], ids=["fetched-then-assigned", "assigned-then-fetched"])
def test_media_of_an_inbox_text_follow_it_to_the_ticket(shops, sim, worker, assign_first):
    shop, _, ticket = shop_with_a_ticket(shops)

    twilio_text(sim, shop, fresh_number(), "Photo from a friend's phone", [
        media(png((500, 250)), "image/png"), media(VCARD, "text/vcard")])
    [row] = inbox(shop)
    assign = lambda: shop.api.post(f"/api/v1/inbox/{row['id']}/assign", json={"ticket_id": ticket["id"]})  # noqa: E731
    if assign_first:
        assert assign().status_code == 200
        worker.drain()
    else:
        worker.drain()
        assert {m["state"] for m in inbox(shop)[0]["media"]} == {"stored", "refused"}
        assert assign().status_code == 200

    reply = the_reply(shop, ticket["id"])
    assert reply["body"] == "Photo from a friend's phone"
    assert [a["content_type"] for a in reply["attachments"]] == ["image/png"]
    [note] = hidden_notes(shop, ticket["id"])
    assert "text/vcard" in note
    assert inbox(shop) == []


def test_a_picture_only_reply_whose_media_were_all_refused_leaves_nothing_blank_on_the_portal(shops, sim, worker):
    shop, customer, ticket = shop_with_a_ticket(shops)
    twilio_text(sim, shop, phone_of(customer), "", [media(VCARD, "text/vcard")])
    worker.drain()
    customer_side = [c for c in shop.comments(ticket["id"]) if c["author"] == "customer"]
    assert customer_side and not any(c["public"] for c in customer_side)
    assert "media only" in customer_side[0]["body"]
    assert any("text/vcard" in n for n in hidden_notes(shop, ticket["id"]))

"""Bad input never gives a 500 or half a record: each gets a 4xx naming the field (webhooks: 400, or the value
stored cleaned) and nothing is written; bodies over 1 MiB are refused before anything is parsed or authenticated.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    jpeg,
    media,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    twilio_form,
)

from repairtext.adapters.db.models import Attachment, Comment, Customer, Job, Message, PendingReceipt, Ticket

TOO_BIG = [2**63, 2**64 + 7, 10**30]
NOT_IDS = TOO_BIG + [0, -1]


def _count(ctx, model) -> int:
    with ctx.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def _fields(response: httpx.Response, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json().get("errors", [])]


@pytest.fixture
def desk(shops):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    return shop, customer, shop.ticket(customer["id"])


# --- ids ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", NOT_IDS)
def test_ids_out_of_range_in_paths_are_422_naming_the_parameter(desk, bad):
    shop = desk[0]
    for method, path, body, field in [
        ("GET", f"/api/v1/customers/{bad}", None, "customer_id"),
        ("PATCH", f"/api/v1/customers/{bad}", {"name": "X"}, "customer_id"),
        ("GET", f"/api/v1/tickets/{bad}", None, "ticket_id"),
        ("PATCH", f"/api/v1/tickets/{bad}", {"status": "Resolved"}, "ticket_id"),
        ("POST", f"/api/v1/tickets/{bad}/comments", {"body": "x", "sms_body": "x"}, "ticket_id"),
        ("GET", f"/api/v1/tickets/{bad}/comments", None, "ticket_id"),
        ("GET", f"/api/v1/attachments/{bad}", None, "attachment_id"),
        ("GET", f"/api/v1/attachments/{bad}/thumbnail", None, "attachment_id"),
        ("POST", f"/api/v1/inbox/{bad}/assign", {"ticket_id": 1}, "message_id"),
    ]:
        response = shop.api.request(method, path, json=body)
        assert field in _fields(response), (method, path, response.text)


@pytest.mark.parametrize("bad", NOT_IDS)
def test_ids_out_of_range_in_queries_and_bodies_are_422_and_write_nothing(desk, ctx, sim, bad):
    shop = desk[0]
    assert "ticket_id" in _fields(shop.api.get("/api/v1/messages", params={"ticket_id": bad}))
    assert "customer_id" in _fields(shop.api.get("/api/v1/messages", params={"customer_id": bad}))
    tickets_before, texts_before = _count(ctx, Ticket), len(sim.messages())
    assert "customer_id" in _fields(shop.api.post("/api/v1/tickets", json={"customer_id": bad, "subject": "x"}))
    assert "ticket_id" in _fields(shop.api.post("/api/v1/templates/preview", json={"body": "hi", "ticket_id": bad}))
    assert "ticket_id" in _fields(shop.api.post("/api/v1/inbox/1/assign", json={"ticket_id": bad}))
    assert _count(ctx, Ticket) == tickets_before and len(sim.messages()) == texts_before


def test_the_portal_refuses_an_attachment_id_out_of_range(desk):
    _, _, ticket = desk
    # A page path takes ids of at most 19 digits: past that there is nothing, and a person gets the 404 page.
    response = httpx.get(f"{ticket['portal_url']}/attachments/{2**64}", timeout=10)
    assert response.status_code == 404 and "Not found" in response.text, response.text


# --- nulls and blanks --------------------------------------------------------------------------------------


def test_null_on_a_patch_is_refused_for_fields_that_must_have_a_value(desk, ctx):
    shop, customer, _ = desk
    url = f"/api/v1/customers/{customer['id']}"
    for body in ({"name": None}, {"phones": None}, {"sms_enabled": None}):
        [field] = body
        assert field in _fields(shop.api.patch(url, json=body)), body
    after = shop.api.get(url).json()
    assert after["phones"] == customer["phones"] and after["name"] == customer["name"] and after["sms_enabled"]
    # null still clears what may be empty
    assert shop.api.patch(url, json={"email": None}).status_code == 200

    before = shop.api.get("/api/v1/shop").json()
    for body in ({"time_zone": None}, {"numbers": None}, {"quiet_hours": None}, {"provider": None},
                 {"smart_encoding": None}):
        [field] = body
        assert field in _fields(shop.api.patch("/api/v1/shop", json=body)), body
    assert shop.api.get("/api/v1/shop").json() == before


def test_whitespace_only_names_and_subjects_are_422_and_nothing_is_stored(desk, ctx):
    shop, customer, _ = desk
    customers_before, tickets_before = _count(ctx, Customer), _count(ctx, Ticket)
    assert "name" in _fields(shop.api.post("/api/v1/customers", json={"name": "   \t "}))
    assert "name" in _fields(shop.api.patch(f"/api/v1/customers/{customer['id']}", json={"name": "  "}))
    assert "subject" in _fields(shop.api.post("/api/v1/tickets", json={"customer_id": customer["id"],
                                                                       "subject": "   "}))
    assert (_count(ctx, Customer), _count(ctx, Ticket)) == (customers_before, tickets_before)
    assert shop.api.get(f"/api/v1/customers/{customer['id']}").json()["name"] == customer["name"]


# --- NUL characters ----------------------------------------------------------------------------------------


def test_nul_characters_in_api_bodies_are_422_naming_the_field(desk, ctx, sim):
    shop, customer, ticket = desk
    counts = [_count(ctx, m) for m in (Customer, Ticket, Comment, Message)]
    for method, path, body, field in [
        ("POST", "/api/v1/customers", {"name": "Ana\x00Ruiz"}, "name"),
        ("POST", "/api/v1/customers", {"name": "Ana", "phones": [{"number": "206555\x000134", "type": "mobile"}]},
         "phones[0].number"),
        ("PATCH", f"/api/v1/customers/{customer['id']}", {"email": "a\x00@b.co"}, "email"),
        ("POST", "/api/v1/tickets", {"customer_id": customer["id"], "subject": "x", "problem": "a\x00"}, "problem"),
        ("POST", f"/api/v1/tickets/{ticket['id']}/comments", {"body": "ok", "sms_body": "hi\x00"}, "sms_body"),
        ("PATCH", f"/api/v1/tickets/{ticket['id']}", {"status": "Resolved\x00"}, "status"),
        ("PUT", "/api/v1/templates/initial_problem", {"body": "Hi\x00"}, "body"),
        ("PATCH", "/api/v1/shop", {"flowroute_access_key": "k\x00"}, "flowroute_access_key"),
        ("PATCH", "/api/v1/shop", {"numbers": ["+1206\x005550134"]}, "numbers"),
        ("POST", "/api/v1/segments", {"text": "\x00"}, "text"),
    ]:
        assert field in _fields(shop.api.request(method, path, json=body)), (path, body)
    # half a surrogate pair is valid JSON ("\ud800") but no text a database can store
    response = shop.api.post("/api/v1/customers", content=b'{"name": "Ana \\ud800"}',
                             headers={"Content-Type": "application/json"})
    assert "name" in _fields(response)
    assert [_count(ctx, m) for m in (Customer, Ticket, Comment, Message)] == counts


def test_nul_characters_from_providers_are_stripped_and_the_text_lands(desk, shops, sim, live_server):
    shop, customer, ticket = desk
    url = live_server.url + "/webhooks/twilio/inbound"
    form = twilio_form(shop, phone_of(customer), "On my\x00 way")
    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200
    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["On my way"]

    fr = flowroute_shop(shops, sim, name="Own account")
    fr_customer = customer_with_number(fr)
    fr_ticket = fr.ticket(fr_customer["id"])
    flowroute_text(sim, fr, phone_of(fr_customer), "See\x00 you")
    assert [c["body"] for c in customer_comments(fr, fr_ticket["id"])] == ["See you"]
    document = {"data": {"id": "mdr2-surrogate", "type": "message",
                         "attributes": {"from": phone_of(fr_customer).lstrip("+"), "to": fr.number.lstrip("+"),
                                        "body": "Half \ud83d a smile"}}}
    url = f"{live_server.url}/webhooks/flowroute/{fr.flowroute_token}/inbound"
    assert httpx.post(url, content=json.dumps(document), headers={"Content-Type": "application/json"},
                      timeout=10).status_code == 200
    assert customer_comments(fr, fr_ticket["id"])[-1]["body"] == "Half \ufffd a smile"


# --- webhook shapes ----------------------------------------------------------------------------------------


def _flowroute_doc(shop, sender: str, **attributes) -> dict:
    attrs = {"from": sender.lstrip("+"), "to": shop.number.lstrip("+"), "body": "hello", **attributes}
    return {"data": {"id": "mdr2-shape", "type": "message", "attributes": attrs}}


def test_flowroute_bodies_of_the_wrong_shape_are_400_and_store_nothing(shops, sim, live_server, ctx):
    shop = flowroute_shop(shops, sim)
    sender = phone_of(customer_with_number(shop))
    url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"
    good = _flowroute_doc(shop, sender)
    bad_documents = [
        [], "text", {"data": []}, {"data": "x"},
        {"data": {"id": "mdr2-shape", "attributes": ["from", "to"]}},
        {"data": {"id": "mdr2-shape", "attributes": "hello"}},
        _flowroute_doc(shop, sender, body=12), _flowroute_doc(shop, sender, body={"text": "hi"}),
        _flowroute_doc(shop, sender, body=["hi"]), _flowroute_doc(shop, sender, to=["1206"]),
        {**good, "included": {"type": "media"}}, {**good, "included": "media"}, {**good, "included": [7]},
        {**good, "included": [{"type": "media", "attributes": "x"}]},
        {**good, "included": [{"type": "media", "attributes": {"url": 5}}]},
        {"data": {**good["data"], "relationships": "media"}},
        {"data": {**good["data"], "relationships": {"media": []}}},
        {"data": {**good["data"], "relationships": {"media": {"data": {"id": "m"}}}}},
        {"data": {**good["data"], "relationships": {"media": {"data": ["m"]}}}},
        {"data": {**good["data"], "id": "x" * 65}},
        {"data": {**good["data"], "id": {"a": 1}}},
        _flowroute_doc(shop, sender, **{"from": "1" * 21}),
    ]
    for document in bad_documents:
        response = httpx.post(url, json=document, timeout=10)
        assert response.status_code == 400, (document, response.text)
    response = httpx.post(url, content=b"\xff\xfe{", headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert _count(ctx, Message) == 0
    status_url = url.replace("/inbound", "/status")
    for document in ({"data": {"id": "mdr2-x", "attributes": ["delivered"]}},
                     {"data": {"id": "mdr2-x", "attributes": {"status": {"s": 1}}}},
                     {"data": {"id": "m" * 65, "attributes": {"status": "delivered"}}},
                     {"data": {"id": "mdr2-x", "attributes": {"status": "d" * 61}}}):
        assert httpx.post(status_url, json=document, timeout=10).status_code == 400, document
    assert _count(ctx, PendingReceipt) == 0
    assert httpx.post(url, json=good, timeout=10).status_code == 200  # the right shape still lands


def test_twilio_fields_longer_than_their_columns_are_400_and_store_nothing(desk, live_server, ctx):
    shop, customer, _ = desk
    for path, form in [
        ("/webhooks/twilio/inbound", twilio_form(shop, phone_of(customer), "hi", sid="SM" + "a" * 63)),
        ("/webhooks/twilio/inbound", [(k, "1" * 21 if k == "From" else v)
                                      for k, v in twilio_form(shop, phone_of(customer), "hi")]),
        ("/webhooks/twilio/status", [("MessageSid", "SM" + "b" * 63), ("MessageStatus", "delivered")]),
        ("/webhooks/twilio/status", [("MessageSid", "SM" + "b" * 32), ("MessageStatus", "x" * 61)]),
        ("/webhooks/twilio/status", [("MessageSid", "SM" + "b" * 32), ("MessageStatus", "failed"),
                                     ("ErrorCode", "3" * 41)]),
    ]:
        url = live_server.url + path
        response = post_twilio(url, form, signature(TWILIO_TOKEN, url, form))
        assert response.status_code == 400, (path, response.text)
    assert _count(ctx, PendingReceipt) == 0
    with ctx.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "inbound")) == 0


def test_a_media_file_name_longer_than_its_column_is_shortened_and_the_photo_attached(shops, sim, worker,
                                                                                     live_server, ctx, blob_dir):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    # The simulator hosts the photo; the webhook is posted by hand so its file name can be anything.
    [photo_url] = flowroute_text(sim, shop, phone_of(customer), "first", [media(jpeg(), "image/jpeg")])["media_urls"]
    long_name = "crack-" + "x" * 400 + ".jpg"
    document = {"data": {"id": "mdr2-long-name", "type": "message",
                         "attributes": {"from": phone_of(customer).lstrip("+"), "to": shop.number.lstrip("+"),
                                        "body": "second"},
                         "relationships": {"media": {"data": [{"id": "m1", "type": "media"}]}}},
                "included": [{"id": "m1", "type": "media", "attributes": {"url": photo_url, "mime_type": "image/jpeg",
                                                                          "file_name": long_name}}]}
    url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"
    assert httpx.post(url, json=document, timeout=10).status_code == 200
    worker.drain()

    replies = {c["body"]: c for c in customer_comments(shop, ticket["id"])}
    [attachment] = replies["second"]["attachments"]
    assert len(attachment["file_name"]) == 200 and attachment["file_name"].endswith(".jpg")
    with ctx.db.reading() as session:
        assert set(session.scalars(select(Job.state).where(Job.kind == "inbound_media"))) == {"done"}
        states = [i["state"] for m in session.scalars(select(Message).where(Message.direction == "inbound"))
                  for i in m.media or []]
        assert states == ["attached", "attached"]
        kept = {k for a in session.scalars(select(Attachment)) for k in (a.blob_key, a.thumbnail_key)}
    on_disk = {str(p.relative_to(blob_dir)) for p in blob_dir.rglob("*") if p.is_file()}
    assert on_disk == kept  # no orphan blobs


# --- body size ---------------------------------------------------------------------------------------------

MIB = 1024 * 1024


def test_bodies_over_one_mib_are_413_before_authentication_or_parsing(shops, live_server, ctx):
    shop = shops.create()
    big = b'{"name": "' + b"x" * (2 * MIB) + b'"}'
    for path, headers in [
        ("/api/v1/customers", {"Content-Type": "application/json"}),  # no API key: 413, not 401
        ("/api/v1/customers", {"Content-Type": "application/json", "Authorization": f"Bearer {shop.api_key}"}),
        ("/webhooks/twilio/inbound", {"Content-Type": "application/x-www-form-urlencoded"}),  # not 403
        ("/webhooks/flowroute/no-such-token/inbound", {"Content-Type": "application/json"}),  # not 404
    ]:
        response = httpx.post(live_server.url + path, content=big, headers=headers, timeout=30)
        assert response.status_code == 413, (path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    # chunked: no Content-Length at all, the bytes are counted as they come
    chunks = (b"x" * 65536 for _ in range(40))
    response = httpx.post(live_server.url + "/webhooks/twilio/inbound", content=chunks,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert response.status_code == 413
    assert _count(ctx, Customer) == 0 and _count(ctx, Message) == 0
    # just under the limit is parsed as usual (here: a 422 naming the field)
    almost = urlencode({"x": "y" * (MIB - 100)}).encode()
    assert httpx.post(live_server.url + "/api/v1/customers", content=b'{"name": "' + b"y" * (MIB - 100) + b'"}',
                      headers={"Content-Type": "application/json", "Authorization": f"Bearer {shop.api_key}"},
                      timeout=30).status_code == 422
    assert len(almost) < MIB


def _raw_post(live_server, head: bytes, body_chunks) -> bytes:
    with socket.create_connection((live_server.host, live_server.port), timeout=30) as conn:
        conn.sendall(head)
        try:
            for chunk in body_chunks:
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all, as it should
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                part = conn.recv(65536)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    return answer


def test_a_content_length_that_lies_does_not_get_a_big_body_through(live_server, shops, ctx):
    shop = shops.create()
    chunk = b"x" * 65536
    chunked = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 40 + [b"0\r\n\r\n"]
    head = (b"POST /api/v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + shop.api_key.encode() + b"\r\n"
            b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = _raw_post(live_server, head, chunked)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else None
    # Either the server refuses the framing outright (400) or the body is counted and refused (413).
    assert status in (400, 413), answer[:200]
    assert _count(ctx, Customer) == 0

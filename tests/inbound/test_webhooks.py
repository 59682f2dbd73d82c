"""The inbound webhooks: Twilio's signed form, Flowroute's secret-token JSON:API; forged, missing and replayed
deliveries; store durably, answer at once.

Genuine Twilio webhooks come from the simulator (which signs with the account's auth token, as Twilio does) or
are posted by hand with a signature made by twilio-python's RequestValidator, never by our own signer."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from support.credentials import TWILIO_TOKEN
from support.inbound import (
    TWILIO_INBOUND,
    customer_comments,
    customer_with_number,
    flowroute_shop,
    flowroute_text,
    inbound_messages,
    inbox,
    open_shop,
    phone_of,
    post_twilio,
    signature,
    ticket_status,
    twilio_form,
    twilio_text,
)
from support.shops import fresh_number

from repairtext.adapters.db.models import Message


def stored_messages(ctx) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.direction == "inbound"))


def shop_with_a_ticket(shops):
    shop = open_shop(shops)
    customer = customer_with_number(shop)
    return shop, customer, shop.ticket(customer["id"])


# --- Twilio ------------------------------------------------------------------------------------------------


def test_a_signed_twilio_text_is_stored_and_answered_with_empty_twiml(shops, sim):
    shop, customer, ticket = shop_with_a_ticket(shops)

    result = twilio_text(sim, shop, phone_of(customer), "Is my phone ready?")

    assert result["response_body"].endswith("<Response/>")
    assert result["elapsed_ms"] < 1000
    [message] = inbound_messages(shop)
    assert (message["provider"], message["provider_id"], message["status"]) == ("twilio", result["sid"], "received")
    assert (message["from"], message["to"], message["body"]) == (phone_of(customer), shop.number, "Is my phone ready?")
    [reply] = customer_comments(shop, ticket["id"])
    assert reply["body"] == "Is my phone ready?" and reply["public"] is True


def test_a_webhook_signed_by_twilios_request_validator_is_accepted(shops, live_server):
    shop, customer, ticket = shop_with_a_ticket(shops)
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), "Ça marche? 👍 & thanks = great")

    response = post_twilio(url, form, signature(TWILIO_TOKEN, url, form))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response/>")
    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["Ça marche? 👍 & thanks = great"]


def test_forged_twilio_webhooks_are_403_and_store_nothing(shops, live_server, ctx):
    shop, customer, ticket = shop_with_a_ticket(shops)
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), "Please send the invoice to evil@example.com")
    tampered = [(k, "Changed after signing" if k == "Body" else v) for k, v in form]
    extra = form + [("MediaUrl0", "http://127.0.0.1/secret")]

    forgeries = {
        "wrong token": (form, signature("not-the-auth-token", url, form)),
        "body changed after signing": (tampered, signature(TWILIO_TOKEN, url, form)),
        "parameter added after signing": (extra, signature(TWILIO_TOKEN, url, form)),
        "signed for another URL": (form, signature(TWILIO_TOKEN, live_server.url + "/webhooks/twilio/status", form)),
        "garbage": (form, "bm90IGEgc2lnbmF0dXJl"),
    }
    for name, (body, sig) in forgeries.items():
        response = post_twilio(url, body, sig)
        assert response.status_code == 403, name

    assert stored_messages(ctx) == 0
    assert inbound_messages(shop) == [] and inbox(shop) == []
    assert customer_comments(shop, ticket["id"]) == [] and ticket_status(shop, ticket["id"]) == "New"


def test_a_missing_or_empty_signature_is_403_and_stores_nothing(shops, live_server, ctx):
    shop, customer, ticket = shop_with_a_ticket(shops)
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), "STOP")

    assert post_twilio(url, form, None).status_code == 403
    assert post_twilio(url, form, "").status_code == 403
    assert httpx.post(url, timeout=10).status_code == 403  # no body at all

    assert stored_messages(ctx) == 0
    assert shop.api.get(f"/api/v1/customers/{customer['id']}").json()["opted_out_at"] is None
    assert shop.comments(ticket["id"]) == []


def test_a_replayed_twilio_webhook_makes_one_comment(shops, sim, live_server):
    shop, customer, ticket = shop_with_a_ticket(shops)
    sid = "SM" + "ab" * 16

    # Twilio retries a webhook it thinks failed: same MessageSid, freshly signed each time.
    for _ in range(3):
        assert twilio_text(sim, shop, phone_of(customer), "Can you call me?", message_sid=sid)["status_code"] == 200
    # An attacker (or a proxy) replays the very same signed request.
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, phone_of(customer), "Can you call me?", sid=sid)
    for _ in range(2):
        assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200

    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["Can you call me?"]
    assert [m["provider_id"] for m in inbound_messages(shop)] == [sid]


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(shops, live_server, settings, app):
    """Twilio signs the URL it called (REPAIRTEXT_PUBLIC_URL + path), not what the proxy hands on to us."""
    from dataclasses import replace

    from repairtext.bootstrap import build_context
    from repairtext.entrypoints.app import create_app

    shop, customer, ticket = shop_with_a_ticket(shops)
    public = "https://texts.fixit-phones.example"
    proxied = build_context(replace(settings, public_url=public))
    live_server.serve(create_app(proxied, inline_worker=False))
    try:
        internal_url, public_url = live_server.url + TWILIO_INBOUND, public + TWILIO_INBOUND
        texts = {}
        for url in (internal_url, public_url, "https://texts.fixit-phones.example:443" + TWILIO_INBOUND):
            form = twilio_form(shop, phone_of(customer), f"signed for {url}")
            texts[url] = post_twilio(internal_url, form, signature(TWILIO_TOKEN, url, form)).status_code
    finally:
        live_server.serve(app)
        proxied.close()
    assert texts == {internal_url: 403, public_url: 200, public + ":443" + TWILIO_INBOUND: 200}
    assert sorted(c["body"] for c in customer_comments(shop, ticket["id"])) == [
        f"signed for {public_url}", f"signed for {public}:443{TWILIO_INBOUND}"]


def test_a_text_to_a_number_no_shop_owns_is_answered_and_dropped(shops, sim, live_server, ctx):
    open_shop(shops)
    orphan = fresh_number()
    sim.post("/_sim/twilio/numbers", {"number": orphan, "sms_url": live_server.url + TWILIO_INBOUND})

    result = sim.post("/_sim/twilio/inbound", {"from": fresh_number(), "to": orphan, "body": "hello?"})

    assert result["status_code"] == 200  # Twilio must not retry it for ever
    assert stored_messages(ctx) == 0


def test_a_signed_webhook_without_a_message_sid_is_refused(shops, live_server, ctx):
    shop, customer, _ = shop_with_a_ticket(shops)
    url = live_server.url + TWILIO_INBOUND
    form = [(k, v) for k, v in twilio_form(shop, phone_of(customer), "hi") if k not in ("MessageSid", "SmsSid")]

    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 400
    assert stored_messages(ctx) == 0


def test_the_webhook_answers_before_any_media_is_fetched(shops, sim, worker):
    from support.inbound import jpeg, media

    shop, customer, ticket = shop_with_a_ticket(shops)
    # The media URL will 404 three times: a webhook that downloaded in-line would be slow or lose the text.
    result = twilio_text(sim, shop, phone_of(customer), "Photo of the crack", [media(jpeg(), "image/jpeg", 3)])

    assert result["status_code"] == 200 and result["elapsed_ms"] < 1000
    [reply] = customer_comments(shop, ticket["id"])
    assert reply["body"] == "Photo of the crack" and reply["attachments"] == []
    assert worker.drain() >= 1
    [reply] = customer_comments(shop, ticket["id"])
    assert [a["content_type"] for a in reply["attachments"]] == ["image/jpeg"]


# --- Flowroute ---------------------------------------------------------------------------------------------


def flowroute_document(shop, sender: str, body: str, message_id: str = "mdr2-test-0001") -> dict:
    return {"data": {"id": message_id, "type": "message",
                     "attributes": {"from": sender.lstrip("+"), "to": shop.number.lstrip("+"), "body": body,
                                    "direction": "inbound", "is_mms": False,
                                    "timestamp": "2026-03-10T15:00:00.00Z"}}}


def test_a_flowroute_text_finds_its_shop_by_the_secret_token(shops, sim):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])

    result = flowroute_text(sim, shop, phone_of(customer), "On my way")

    assert result["elapsed_ms"] < 1000
    [message] = inbound_messages(shop)
    assert (message["provider"], message["provider_id"]) == ("flowroute", result["sid"])
    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["On my way"]


def test_an_unknown_flowroute_token_is_404_and_stores_nothing(shops, sim, live_server, ctx):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    document = flowroute_document(shop, phone_of(customer), "hello")

    for token in ("not-the-token", shop.flowroute_token[:-1], shop.flowroute_token + "x"):
        response = httpx.post(f"{live_server.url}/webhooks/flowroute/{token}/inbound", json=document, timeout=10)
        assert response.status_code == 404, token
    assert stored_messages(ctx) == 0

    right = httpx.post(f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound", json=document)
    assert right.status_code == 200 and stored_messages(ctx) == 1


def test_one_shops_token_cannot_post_into_another_shop(shops, sim, live_server):
    shop, other = flowroute_shop(shops, sim, name="A"), flowroute_shop(shops, sim, name="B")
    customer = customer_with_number(shop)
    document = flowroute_document(shop, phone_of(customer), "sent to A's number with B's token")

    response = httpx.post(f"{live_server.url}/webhooks/flowroute/{other.flowroute_token}/inbound", json=document)

    assert response.status_code == 200  # answered, so Flowroute stops resending; but A's number is not B's
    assert inbound_messages(shop) == [] and inbound_messages(other) == []
    assert inbox(shop) == [] and inbox(other) == []


def test_a_replayed_flowroute_webhook_makes_one_comment(shops, sim, live_server):
    shop = flowroute_shop(shops, sim)
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])

    flowroute_text(sim, shop, phone_of(customer), "See you at 4", id="mdr2-replayed")
    flowroute_text(sim, shop, phone_of(customer), "See you at 4", id="mdr2-replayed")
    url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"
    assert httpx.post(url, json=flowroute_document(shop, phone_of(customer), "See you at 4",
                                                   "mdr2-replayed")).status_code == 200

    assert [c["body"] for c in customer_comments(shop, ticket["id"])] == ["See you at 4"]
    assert [m["provider_id"] for m in inbound_messages(shop)] == ["mdr2-replayed"]


def test_malformed_flowroute_bodies_are_400_and_store_nothing(shops, sim, live_server, ctx):
    shop = flowroute_shop(shops, sim)
    url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"

    assert httpx.post(url, content=b"not json", headers={"Content-Type": "application/vnd.api+json"}).status_code == 400
    assert httpx.post(url, json=["data"]).status_code == 400
    assert httpx.post(url, json={"data": {"type": "message", "attributes": {"body": "no id"}}}).status_code == 400
    assert stored_messages(ctx) == 0


def test_concurrent_deliveries_of_one_text_make_one_comment(shops, sim, live_server):
    """Twilio's retry can overlap the first delivery; the provider's id decides, under any interleaving."""
    from concurrent.futures import ThreadPoolExecutor

    shop = flowroute_shop(shops, sim)  # its own Flowroute number, and a built-in one from the operator
    customer = customer_with_number(shop)
    ticket = shop.ticket(customer["id"])
    platform_number = next(n for n in shop.api.get("/api/v1/shop").json()["numbers"] if n != shop.number)
    twilio_url = live_server.url + TWILIO_INBOUND
    form = [(k, platform_number if k == "To" else v) for k, v in twilio_form(shop, phone_of(customer), "Twice at once")]
    signed = signature(TWILIO_TOKEN, twilio_url, form)
    flowroute_url = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}/inbound"
    document = flowroute_document(shop, phone_of(customer), "Also twice at once", "mdr2-concurrent")

    with ThreadPoolExecutor(max_workers=12) as pool:
        twilio = [pool.submit(post_twilio, twilio_url, form, signed) for _ in range(6)]
        flowroute = [pool.submit(httpx.post, flowroute_url, json=document, timeout=30) for _ in range(6)]
        statuses = [f.result().status_code for f in twilio + flowroute]

    assert statuses == [200] * 12
    assert sorted(c["body"] for c in customer_comments(shop, ticket["id"])) == ["Also twice at once", "Twice at once"]
    assert len(inbound_messages(shop)) == 2

"""The simulator driven by the official `twilio` client (so it cannot drift from what Twilio's own SDK sends and
reads), and checked against the shapes in Flowroute's official v3 SDK and docs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.credentials import TWILIO_SID, TWILIO_TOKEN
from twilio.rest import Client

SHOP, CUSTOMER = "+12065550199", "+12065550100"
FR_KEY, FR_SECRET, FR_SHOP, FR_CUSTOMER = "fr-key", "fr-secret", "12065550111", "12065550122"
JSON_API = "application/vnd.api+json"


@pytest.fixture
def twilio(sim, simulator) -> Client:
    client = Client(TWILIO_SID, TWILIO_TOKEN)
    client.api.base_url = simulator.url  # every request of the SDK goes to the simulator instead
    return client


@pytest.fixture
def flowroute(sim):
    # The simulator's own health URL takes the callbacks: each is recorded, answered 405, not retried.
    sim.post("/_sim/flowroute/accounts", {"access_key": FR_KEY, "secret_key": FR_SECRET, "numbers": [FR_SHOP],
                                          "sms_callback_url": f"{sim.url}/_sim/health"})
    with httpx.Client(base_url=sim.url, auth=(FR_KEY, FR_SECRET), timeout=5) as client:
        yield client


def _wait_until(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_official_client_creates_fetches_and_pages(sim, twilio):
    sent = [twilio.messages.create(to=CUSTOMER, from_=SHOP, body=f"text {i}") for i in range(7)]
    twilio.messages.create(to="+12065550177", from_=SHOP, body="someone else")

    fetched = twilio.messages(sent[0].sid).fetch()
    pages = twilio.messages.list(to=CUSTOMER, from_=SHOP, page_size=3)  # follows next_page_uri three times
    first_page = twilio.messages.page(to=CUSTOMER, from_=SHOP, page_size=3)

    assert sent[0].sid.startswith("SM") and sent[0].status == "queued" and sent[0].num_segments == "1"
    assert fetched.body == "text 0" and fetched.to == CUSTOMER and fetched.direction == "outbound-api"
    assert fetched.date_created is not None and fetched.date_created.tzinfo is not None
    assert [m.sid for m in pages] == [m.sid for m in reversed(sent)]  # newest first, no more, no fewer
    assert len(list(first_page)) == 3 and first_page.next_page_url.startswith(twilio.api.base_url)


def test_new_messages_never_shift_the_pages_a_client_is_reading(sim, twilio):
    for i in range(4):
        twilio.messages.create(to=CUSTOMER, from_=SHOP, body=f"old {i}")
    first = twilio.messages.page(to=CUSTOMER, page_size=2)
    twilio.messages.create(to=CUSTOMER, from_=SHOP, body="arrived while paging")
    second = first.next_page()
    assert [m.body for m in [*first, *second]] == ["old 3", "old 2", "old 1", "old 0"]


def test_date_sent_filters_match_date_sent_which_is_null_while_queued(sim, twilio):
    now = datetime.now(UTC)
    queued = twilio.messages.create(to=CUSTOMER, from_=SHOP, body="queued")
    assert queued.date_sent is None
    assert twilio.messages.list(to=CUSTOMER, date_sent_after=now - timedelta(hours=1)) == []
    _wait_until(lambda: twilio.messages(queued.sid).fetch().status == "delivered")

    fetched = twilio.messages(queued.sid).fetch()
    after = twilio.messages.list(to=CUSTOMER, date_sent_after=now - timedelta(hours=1))  # ISO datetime form
    on_the_day = twilio.messages.list(to=CUSTOMER, date_sent=fetched.date_sent)
    before = twilio.messages.list(to=CUSTOMER, date_sent_before=now - timedelta(days=1))
    as_a_date = twilio.messages.list(to=CUSTOMER, date_sent_after=fetched.date_sent.date().isoformat())

    assert fetched.date_sent is not None
    assert [m.sid for m in after] == [m.sid for m in on_the_day] == [m.sid for m in as_a_date] == [queued.sid]
    assert before == []


def test_an_inbound_mms_is_a_message_the_client_can_fetch(sim, twilio):
    sim.post("/_sim/twilio/numbers", {"number": SHOP, "sms_url": f"{sim.url}/_sim/health"})
    media = [{"content_type": "image/png", "data_base64": "iVBORw0KGgo="}]
    answer = sim.post("/_sim/twilio/inbound", {"from": CUSTOMER, "to": SHOP, "body": "photo", "media": media})

    inbound = twilio.messages(answer["sid"]).fetch()
    listed = twilio.messages.list(from_=CUSTOMER)

    assert answer["sid"].startswith("MM") and inbound.direction == "inbound" and inbound.status == "received"
    assert (inbound.from_, inbound.to, inbound.body, inbound.num_media) == (CUSTOMER, SHOP, "photo", "1")
    assert [m.sid for m in listed] == [answer["sid"]]
    assert sim.messages() == []  # the control API's list stays the outbound messages


def test_final_twilio_callbacks_carry_raw_dlr_done_date(sim, twilio):
    sent = twilio.messages.create(to=CUSTOMER, from_=SHOP, body="hi", status_callback=f"{sim.url}/_sim/health")
    _wait_until(lambda: len(sim.get("/_sim/callbacks", message_id=sent.sid)) == 2)
    sent_cb, delivered_cb = sim.get("/_sim/callbacks", message_id=sent.sid)
    assert "RawDlrDoneDate" not in sent_cb["payload"]
    assert len(delivered_cb["payload"]["RawDlrDoneDate"]) == 10  # YYMMDDhhmm


def _fr_send(client, **attributes):
    attrs = {"to": FR_CUSTOMER, "from": FR_SHOP, "body": "Your phone is ready", **attributes}
    return client.post("/v2.1/messages", content=json.dumps({"data": {"type": "message", "attributes": attrs}}),
                       headers={"Content-Type": JSON_API})


def test_flowroute_takes_is_mms_as_the_sdk_sends_it_and_mdrs_keep_their_receipts(sim, flowroute):
    # flowroute-sdk-v3-python's README sends "is_mms": "true" (a string) with media_urls.
    mms = _fr_send(flowroute, is_mms="true", media_urls=["https://example.com/a.gif"],
                   dlr_callback=f"{sim.url}/_sim/health")
    assert mms.status_code == 202
    record_id = mms.json()["data"]["id"]
    _wait_until(lambda: len(sim.get("/_sim/callbacks", message_id=record_id)) == 2)

    record = flowroute.get(f"/v2.1/messages/{record_id}").json()["data"]
    dlrs = [c["payload"]["data"] for c in sim.get("/_sim/callbacks", message_id=record_id)]

    assert record["attributes"]["is_mms"] is True
    receipts = record["attributes"]["delivery_receipts"]
    assert [r["status"] for r in receipts] == ["message buffered", "delivered"]
    assert {"level", "status_code", "status_code_description", "timestamp"} <= receipts[0].keys()
    assert {d["type"] for d in dlrs} == {"delivery_receipt"}
    assert _fr_send(flowroute, is_mms="maybe").status_code == 422


def test_flowroute_errors_have_ids_and_inbound_sms_names_its_callback(sim, flowroute):
    with httpx.Client(base_url=sim.url, auth=(FR_KEY, "wrong")) as wrong:
        [error] = _fr_send(wrong).json()["errors"]
    answer = sim.post("/_sim/flowroute/inbound", {"from": FR_CUSTOMER, "to": FR_SHOP, "body": "hello"})
    [posted] = sim.get("/_sim/callbacks", kind="inbound")
    attributes = posted["payload"]["data"]["attributes"]
    fetched = flowroute.get(f"/v2.1/messages/{answer['sid']}").json()["data"]["attributes"]
    today = datetime.now(UTC).date().isoformat()
    listed = flowroute.get("/v2.1/messages", params={"start_date": today}).json()["data"]

    assert error["id"] and error["status"] == 401 and error["title"]
    assert attributes["message_callback_url"] == f"{sim.url}/_sim/health"
    assert attributes["delivery_receipts"] == [] and attributes["is_mms"] is False
    assert fetched["direction"] == "inbound" and fetched["body"] == "hello"
    assert [m["id"] for m in listed] == [answer["sid"]]

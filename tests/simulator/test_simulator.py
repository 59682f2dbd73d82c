"""The provider simulator speaks Twilio's and Flowroute's wire protocols over real HTTP.

One simulator and one recording receiver (a stdlib HTTP server standing in for repairtext's webhooks) serve the
whole module; each test starts from POST /_sim/reset. Twilio signatures are checked with twilio-python's own
RequestValidator, so the simulator cannot agree with a wrong signer of ours.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

from repairtext.simulator import SimulatorConfig, SimulatorServer

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"
SHOP = "+12065550199"
CUSTOMER = "+12065550100"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
FR_KEY, FR_SECRET, FR_SHOP, FR_CUSTOMER = "fr-access", "fr-secret", "12065550111", "12065550122"
JSON_API = "application/vnd.api+json"


class Receiver:
    """Records every POST; `answer(path, 503, 503)` makes that path fail first (a receiver not up yet)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.plans: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = urlsplit(self.path).path
                with receiver.lock:
                    receiver.requests.append(
                        {"path": path, "url": receiver.url + self.path, "headers": dict(self.headers), "body": body}
                    )
                    plan = receiver.plans.get(path) or []
                    status = plan.pop(0) if plan else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.end_headers()
                self.wfile.write(b"<Response/>")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.plans.clear()

    def answer(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.plans[path] = list(statuses)

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = [r for r in self.requests if r["path"] == path]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.02)


def form(request: dict) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request["body"].decode(), keep_blank_values=True).items()}


def assert_signed(request: dict) -> None:
    signature = request["headers"]["X-Twilio-Signature"]
    assert RequestValidator(TOKEN).validate(request["url"], form(request), signature)
    assert not RequestValidator("wrong-token").validate(request["url"], form(request), signature)


@pytest.fixture(scope="module")
def servers():
    receiver = Receiver()
    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=SID, twilio_auth_token=TOKEN, callback_delay=0.05))
    sim.start()
    yield sim, receiver
    sim.stop()
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def sim(servers):
    simulator, receiver = servers
    receiver.clear()
    httpx.post(simulator.url + "/_sim/reset").raise_for_status()
    return simulator


@pytest.fixture
def receiver(servers, sim):
    return servers[1]


@pytest.fixture
def twilio(sim):
    with httpx.Client(base_url=sim.url, auth=(SID, TOKEN), timeout=5) as client:
        yield client


@pytest.fixture
def flowroute(sim, receiver):
    account = {
        "access_key": FR_KEY,
        "secret_key": FR_SECRET,
        "numbers": [FR_SHOP],
        "sms_callback_url": receiver.url + "/fr/inbound",
    }
    httpx.post(sim.url + "/_sim/flowroute/accounts", json=account).raise_for_status()
    with httpx.Client(base_url=sim.url, auth=(FR_KEY, FR_SECRET), timeout=5) as client:
        yield client


def fr_send(client: httpx.Client, **attributes) -> httpx.Response:
    attrs = {"to": FR_CUSTOMER, "from": FR_SHOP, "body": "Your phone is ready", "is_mms": False, "media_urls": []}
    attrs.update(attributes)
    document = {"data": {"type": "message", "attributes": attrs}}
    return client.post("/v2.1/messages", content=json.dumps(document), headers={"Content-Type": JSON_API})


def sim_messages(sim, provider=None) -> list[dict]:
    return httpx.get(sim.url + "/_sim/messages", params={"provider": provider} if provider else None).json()


# Twilio: sending -----------------------------------------------------------------------------------------------


def test_twilio_send_answers_201_with_the_message_resource(sim, twilio):
    response = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "Your phone is ready"})

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["status"] == "queued"
    assert message["num_segments"] == "1" and message["num_media"] == "0"
    assert (message["to"], message["from"], message["body"]) == (CUSTOMER, SHOP, "Your phone is ready")
    assert message["error_code"] is None and message["error_message"] is None
    assert message["account_sid"] == SID
    assert message["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"
    created = parsedate_to_datetime(message["date_created"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert [m["id"] for m in sim_messages(sim, "twilio")] == [message["sid"]]


def test_twilio_mms_gets_an_mm_sid_and_long_text_counts_segments(sim, twilio):
    media = ["https://example.com/a.png", "https://example.com/b.png"]
    mms = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "pics", "MediaUrl": media}).json()
    long_text = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "a" * 161}).json()
    unicode_text = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "Done ✅" * 12}).json()

    assert re.fullmatch(r"MM[0-9a-f]{32}", mms["sid"]) and mms["num_media"] == "2"
    assert sim_messages(sim)[0]["media_urls"] == media
    assert long_text["num_segments"] == "2"
    assert unicode_text["num_segments"] == "2"  # 84 UCS-2 units > 70


@pytest.mark.parametrize("auth", [None, (SID, "wrong-token"), ("AC" + "f" * 32, TOKEN)])
def test_twilio_refuses_bad_credentials_with_401(sim, auth):
    response = httpx.post(sim.url + MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"}, auth=auth)

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert sim_messages(sim) == []


@pytest.mark.parametrize(
    "setup, fields, code",
    [
        (None, {"To": "2065550100"}, 21211),
        (None, {"Body": "x" * 1601}, 21617),
        (None, {"To": "+447700900123", "MediaUrl": "https://example.com/a.png"}, 21408),
        (("/_sim/twilio/numbers", {"number": CUSTOMER, "line_type": "landline"}), {}, 21614),
        (("/_sim/optouts", {"from": SHOP, "to": CUSTOMER}), {}, 21610),
    ],
    ids=["not-e164", "too-long", "mms-abroad", "landline", "opted-out"],
)
def test_twilio_rejects_what_twilio_rejects(sim, twilio, setup, fields, code):
    if setup:
        httpx.post(sim.url + setup[0], json=setup[1]).raise_for_status()

    response = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi", **fields})

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"].endswith(str(code))
    assert sim_messages(sim) == []


# Twilio: status callbacks, lookups -----------------------------------------------------------------------------


def test_twilio_status_callbacks_arrive_in_order_and_signed(sim, twilio, receiver):
    callback = receiver.url + "/status?shop=7"
    sid = twilio.post(
        MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi", "StatusCallback": callback}
    ).json()["sid"]

    got = receiver.wait_for("/status", 2)

    assert [form(r)["MessageStatus"] for r in got] == ["sent", "delivered"]
    for request in got:
        assert request["url"] == callback
        assert_signed(request)
        fields = form(request)
        assert (fields["MessageSid"], fields["SmsSid"], fields["AccountSid"]) == (sid, sid, SID)
        assert (fields["From"], fields["To"], fields["ApiVersion"]) == (SHOP, CUSTOMER, "2010-04-01")
        assert "ErrorCode" not in fields
    records = httpx.get(sim.url + "/_sim/callbacks", params={"message_id": sid}).json()
    assert [(c["status"], c["http_status"]) for c in records] == [("sent", 200), ("delivered", 200)]
    assert twilio.get(f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json").json()["status"] == "delivered"


def test_twilio_callbacks_are_retried_while_the_receiver_fails(sim, twilio, receiver):
    receiver.answer("/status", 503, 502)
    callback = receiver.url + "/status"
    twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi", "StatusCallback": callback})

    got = receiver.wait_for("/status", 4)

    assert [form(r)["MessageStatus"] for r in got] == ["sent", "sent", "sent", "delivered"]
    records = httpx.get(sim.url + "/_sim/callbacks").json()
    assert [(c["status"], c["http_status"], c["attempts"]) for c in records] == [
        ("sent", 200, 3),
        ("delivered", 200, 1),
    ]


def test_control_api_sends_a_late_duplicate_status_that_does_not_move_a_final_one(sim, twilio, receiver):
    sid = twilio.post(
        MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi", "StatusCallback": receiver.url + "/status"}
    ).json()["sid"]
    receiver.wait_for("/status", 2)

    answer = httpx.post(sim.url + f"/_sim/messages/{sid}/status", json={"status": "sent"}).json()

    got = receiver.wait_for("/status", 3)
    assert [form(r)["MessageStatus"] for r in got] == ["sent", "delivered", "sent"]
    assert_signed(got[-1])
    assert answer["callback"]["http_status"] == 200
    assert answer["message"]["status"] == "delivered"


def test_twilio_fetch_and_list_find_a_message_after_the_fact(sim, twilio):
    sent = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "one"}).json()
    twilio.post(MESSAGES, data={"To": "+12065550177", "From": SHOP, "Body": "other"})
    today = datetime.now(UTC).date().isoformat()

    fetched = twilio.get(f"/2010-04-01/Accounts/{SID}/Messages/{sent['sid']}.json")
    listed = twilio.get(MESSAGES, params={"To": CUSTOMER, "From": SHOP}).json()
    while_queued = twilio.get(MESSAGES, params={"To": CUSTOMER, "DateSent>": today}).json()
    tomorrow_on = twilio.get(MESSAGES, params={"DateSent>": "2999-01-01"}).json()
    missing = twilio.get(f"/2010-04-01/Accounts/{SID}/Messages/SM{'0' * 32}.json")

    assert fetched.status_code == 200 and fetched.json()["body"] == "one"
    assert fetched.json()["status"] == "queued" and fetched.json()["date_sent"] is None
    assert [m["sid"] for m in listed["messages"]] == [sent["sid"]]
    assert listed["page"] == 0 and listed["next_page_uri"] is None
    assert while_queued["messages"] == []  # DateSent matches date_sent, null while queued
    assert tomorrow_on["messages"] == []
    assert missing.status_code == 404 and missing.json()["code"] == 20404
    time.sleep(0.3)  # callbacks move it to sent, then delivered
    once_sent = twilio.get(MESSAGES, params={"To": CUSTOMER, "DateSent>": today}).json()
    assert [m["sid"] for m in once_sent["messages"]] == [sent["sid"]]


# Twilio: inbound -----------------------------------------------------------------------------------------------


def register_shop_number(sim, receiver) -> str:
    sms_url = receiver.url + "/inbound"
    httpx.post(sim.url + "/_sim/twilio/numbers", json={"number": SHOP, "sms_url": sms_url}).raise_for_status()
    return sms_url


def test_twilio_inbound_is_signed_and_its_media_need_auth(sim, receiver):
    sms_url = register_shop_number(sim, receiver)
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}]

    answer = httpx.post(
        sim.url + "/_sim/twilio/inbound", json={"from": CUSTOMER, "to": SHOP, "body": "Is it ready?", "media": media}
    ).json()

    [request] = receiver.wait_for("/inbound", 1)
    assert request["url"] == sms_url
    assert_signed(request)
    fields = form(request)
    assert re.fullmatch(r"MM[0-9a-f]{32}", fields["MessageSid"]) and fields["MessageSid"] == answer["sid"]
    assert fields["SmsMessageSid"] == fields["SmsSid"] == answer["sid"]
    assert (fields["From"], fields["To"], fields["Body"]) == (CUSTOMER, SHOP, "Is it ready?")
    assert fields["AccountSid"] == SID
    assert (fields["NumMedia"], fields["NumSegments"], fields["FromCountry"]) == ("1", "1", "US")
    assert fields["MediaContentType0"] == "image/png"
    assert "OptOutType" not in fields and "MessagingServiceSid" not in fields
    assert answer["status_code"] == 200 and answer["response_body"] == "<Response/>"
    media_url = fields["MediaUrl0"]
    assert media_url.startswith(f"{sim.url}/2010-04-01/Accounts/{SID}/Messages/{answer['sid']}/Media/ME")
    assert httpx.get(media_url).status_code == 401
    fetched = httpx.get(media_url, auth=(SID, TOKEN))
    assert fetched.status_code == 200
    assert fetched.content == PNG and fetched.headers["content-type"] == "image/png"


def test_twilio_media_not_ready_answers_404_first(sim, receiver):
    register_shop_number(sim, receiver)
    media = [{"content_type": "text/vcard", "data_base64": base64.b64encode(b"BEGIN:VCARD").decode(), "fail_first": 2}]

    answer = httpx.post(sim.url + "/_sim/twilio/inbound", json={"from": CUSTOMER, "to": SHOP, "media": media}).json()

    statuses = [httpx.get(answer["media_urls"][0], auth=(SID, TOKEN)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [404, 404, 200]
    assert statuses[-1].content == b"BEGIN:VCARD" and statuses[-1].headers["content-type"] == "text/vcard"


def test_twilio_inbound_keywords_carry_opt_out_type_and_block_sends(sim, twilio, receiver):
    register_shop_number(sim, receiver)
    inbound = sim.url + "/_sim/twilio/inbound"

    httpx.post(inbound, json={"from": CUSTOMER, "to": SHOP, "body": " stop ", "message_sid": "SM" + "1" * 32})
    blocked = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})
    httpx.post(inbound, json={"from": CUSTOMER, "to": SHOP, "body": "Unstop"})
    allowed = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})

    stop, start = (form(r) for r in receiver.wait_for("/inbound", 2))
    assert (stop["MessageSid"], stop["OptOutType"]) == ("SM" + "1" * 32, "STOP")
    assert start["OptOutType"] == "START"
    assert blocked.json()["code"] == 21610
    assert allowed.status_code == 201


def test_inbound_to_an_unregistered_number_is_refused(sim):
    response = httpx.post(sim.url + "/_sim/twilio/inbound", json={"from": CUSTOMER, "to": SHOP, "body": "hi"})

    assert response.status_code == 404
    assert "POST /_sim/twilio/numbers" in response.json()["error"]


# Faults --------------------------------------------------------------------------------------------------------


def add_fault(sim, **fault) -> None:
    httpx.post(sim.url + "/_sim/faults", json=fault).raise_for_status()


def test_rate_limit_fault_answers_429_with_retry_after_then_clears(sim, twilio):
    add_fault(sim, provider="twilio", kind="http_status", status=429, retry_after=2, count=1)

    limited = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})
    later = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["code"] == 20429 and limited.json()["status"] == 429
    assert later.status_code == 201
    assert len(sim_messages(sim)) == 1


def test_accept_then_timeout_records_the_message_though_the_sender_times_out(sim, twilio, receiver):
    add_fault(sim, provider="twilio", kind="accept_then_timeout", delay=1.0)
    callback = receiver.url + "/status"

    with pytest.raises(httpx.ReadTimeout):
        twilio.post(
            MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi", "StatusCallback": callback}, timeout=0.3
        )

    [accepted] = sim_messages(sim, "twilio")
    found = twilio.get(MESSAGES, params={"To": CUSTOMER}).json()["messages"]
    assert [m["sid"] for m in found] == [accepted["id"]]
    assert [form(r)["MessageStatus"] for r in receiver.wait_for("/status", 2)] == ["sent", "delivered"]


def test_timeout_before_accept_and_twilio_error_record_nothing(sim, twilio):
    add_fault(sim, provider="twilio", kind="timeout_before_accept", delay=0.1)
    add_fault(sim, provider="twilio", kind="twilio_error", code=21611)

    unavailable = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})
    refused = twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})

    assert unavailable.status_code == 503 and unavailable.json()["code"] == 20503
    assert refused.status_code == 400 and refused.json()["code"] == 21611
    assert sim_messages(sim) == []


def test_flowroute_faults_answer_in_json_api_shape(sim, flowroute):
    add_fault(sim, provider="flowroute", kind="http_status", status=500)

    response = fr_send(flowroute)

    assert response.status_code == 500
    assert response.json()["errors"][0]["status"] == 500
    assert fr_send(flowroute).status_code == 202


# Flowroute -----------------------------------------------------------------------------------------------------


def test_flowroute_send_answers_202_and_delivery_receipts_follow(sim, flowroute, receiver):
    dlr_url = receiver.url + "/fr/dlr"

    response = fr_send(flowroute, dlr_callback=dlr_url)

    assert response.status_code == 202
    assert response.headers["content-type"].startswith(JSON_API)
    data = response.json()["data"]
    assert re.fullmatch(r"mdr2-[0-9a-f]{32}", data["id"]) and data["type"] == "message"
    receipts = [json.loads(r["body"]) for r in receiver.wait_for("/fr/dlr", 2)]
    assert [r["data"]["attributes"]["status"] for r in receipts] == ["message buffered", "delivered"]
    for receipt in receipts:
        assert receipt["data"]["id"] == data["id"] and receipt["data"]["type"] == "delivery_receipt"
        assert {"status_code", "status_code_description", "timestamp"} <= receipt["data"]["attributes"].keys()
    record = flowroute.get(f"/v2.1/messages/{data['id']}").json()["data"]
    assert record["attributes"]["status"] == "delivered"
    assert (record["attributes"]["to"], record["attributes"]["from"]) == (FR_CUSTOMER, FR_SHOP)
    [public] = sim_messages(sim, "flowroute")
    assert (public["id"], public["status_callback"]) == (data["id"], dlr_url)


def test_flowroute_lists_messages_by_date(sim, flowroute):
    sent = fr_send(flowroute).json()["data"]["id"]
    today = datetime.now(UTC).date().isoformat()

    listed = flowroute.get("/v2.1/messages", params={"start_date": today, "end_date": today}).json()
    future = flowroute.get("/v2.1/messages", params={"start_date": "2999-01-01"}).json()
    no_start = flowroute.get("/v2.1/messages")

    assert [m["id"] for m in listed["data"]] == [sent]
    assert listed["links"]["next"] is None
    assert future["data"] == []
    assert no_start.status_code == 422


def test_flowroute_refuses_bad_credentials_foreign_numbers_and_bad_attributes(sim, flowroute):
    with httpx.Client(base_url=sim.url, auth=(FR_KEY, "nope")) as wrong_secret:
        unauthorized = fr_send(wrong_secret)
    not_owned = fr_send(flowroute, **{"from": "12065550999"})
    plus_sign = fr_send(flowroute, to="+" + FR_CUSTOMER)
    plain_json = flowroute.post("/v2.1/messages", json={"data": {"type": "message", "attributes": {}}})

    assert unauthorized.status_code == 401 and unauthorized.json()["errors"][0]["status"] == 401
    assert not_owned.status_code == 403
    assert plus_sign.status_code == 422 and "to" in plus_sign.json()["errors"][0]["detail"]
    assert plain_json.status_code == 415
    assert sim_messages(sim) == []


def test_flowroute_inbound_posts_json_api_with_media_served_without_auth(sim, flowroute, receiver):
    media = [{"content_type": "image/png", "data_base64": base64.b64encode(PNG).decode(), "fail_first": 1}]

    answer = httpx.post(
        sim.url + "/_sim/flowroute/inbound",
        json={"from": "+" + FR_CUSTOMER, "to": FR_SHOP, "body": "pic attached", "media": media},
    ).json()

    [request] = receiver.wait_for("/fr/inbound", 1)
    document = json.loads(request["body"])
    attributes = document["data"]["attributes"]
    assert document["data"]["id"] == answer["sid"] and answer["sid"].startswith("mdr2-")
    assert (attributes["from"], attributes["to"], attributes["body"]) == (FR_CUSTOMER, FR_SHOP, "pic attached")
    assert attributes["direction"] == "inbound" and attributes["is_mms"] is True
    [included] = document["included"]
    assert document["data"]["relationships"]["media"]["data"] == [{"id": included["id"], "type": "media"}]
    assert included["attributes"]["mime_type"] == "image/png"
    assert included["attributes"]["file_size"] == len(PNG)
    assert included["attributes"]["file_name"].endswith(".png")
    assert httpx.get(included["attributes"]["url"]).status_code == 404  # fail_first
    served = httpx.get(included["attributes"]["url"])
    assert served.status_code == 200 and served.content == PNG


def test_reset_forgets_everything(sim, twilio, receiver):
    register_shop_number(sim, receiver)
    twilio.post(MESSAGES, data={"To": CUSTOMER, "From": SHOP, "Body": "hi"})

    httpx.post(sim.url + "/_sim/reset").raise_for_status()

    assert sim_messages(sim) == []
    assert httpx.post(sim.url + "/_sim/twilio/inbound", json={"from": CUSTOMER, "to": SHOP}).status_code == 404
    assert httpx.get(sim.url + "/_sim/health").json() == {"ok": True, "twilio_account_sid": SID}

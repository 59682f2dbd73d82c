"""Structured logs: one JSON object a line, each carrying the request's id (the caller's X-Request-ID if plain,
else one we made and answered) and the message id where a line concerns a text."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from support.credentials import TWILIO_TOKEN
from support.inbound import TWILIO_INBOUND, signature, twilio_form
from support.shops import fresh_number

from repairtext.adapters import logs


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("repairtext")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_request_id_is_answered_and_carried_by_its_log_lines(shops, live_server, json_lines):
    shop = shops.create()
    shop.number = fresh_number()  # a number no shop has: the webhook logs that it dropped the text
    url = live_server.url + TWILIO_INBOUND
    form = twilio_form(shop, fresh_number(), "hello?")
    response = httpx.post(url, content=httpx.QueryParams(form).__str__(), timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Request-ID": "req-42.abc",
        "X-Twilio-Signature": signature(TWILIO_TOKEN, url, form)})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42.abc"
    [line] = [entry for entry in json_lines() if entry["logger"] == "repairtext.webhooks"]
    assert line["request_id"] == "req-42.abc" and line["level"] == "warning"


def test_an_unsafe_request_id_is_replaced(app, live_server):
    response = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "x" * 200}, timeout=10)
    made = response.headers["x-request-id"]
    assert made != "x" * 200 and len(made) == 32
    assert httpx.get(f"{live_server.url}/healthz", timeout=10).headers["x-request-id"] != made


def test_message_id_travels_in_context():
    record = logging.LogRecord("repairtext.worker", logging.INFO, __file__, 1, "sent", (), None)
    with logs.about_message(77):
        logs.ContextFilter().filter(record)
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message_id"] == 77 and entry["message"] == "sent" and "request_id" not in entry


def test_a_refused_send_is_logged_with_its_message_id(shops, sim, worker, json_lines):
    shop = shops.create()
    ticket = shop.ticket(shop.customer("Jane Cooper")["id"])
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "twilio_error", "code": 21211, "count": 1})
    worker.drain()
    [text] = shop.messages(ticket_id=ticket["id"])
    [line] = [e for e in json_lines() if e["logger"] == "repairtext.sending"]
    assert line["message_id"] == text["id"] and "21211" in line["message"] and line["level"] == "warning"

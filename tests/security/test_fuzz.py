"""A bounded fuzz pass: hypothesis over the webhook parsers (Twilio forms, Flowroute JSON:API documents, posted
over HTTP) and schemathesis over our OpenAPI. Whatever comes in: no 5xx, and nothing half-written (a refused
request stores nothing; the ledger, the outbox and the names stay consistent)."""

from __future__ import annotations

import contextlib
import time
from datetime import date, timedelta
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import func, select
from support.credentials import TWILIO_TOKEN
from support.inbound import customer_with_number, flowroute_shop, open_shop, phone_of, signature

from repairtext.adapters.db.models import Comment, Customer, Job, Message, PendingReceipt, Ticket
from repairtext.services.credits import check_ledger

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _counts(ctx) -> tuple[int, ...]:
    with ctx.db.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Message, Comment, PendingReceipt, Job))


def _nothing_half_written(ctx) -> None:
    assert check_ledger(ctx) == []
    with ctx.db.reading() as session:
        assert not session.scalars(select(Customer.id).where(func.trim(Customer.name) == "")).all()
        assert not session.scalars(select(Ticket.id).where(func.trim(Ticket.subject) == "")).all()
        queued = set(session.scalars(select(Message.id).where(Message.direction == "outbound",
                                                              Message.status == "queued")))
        queued_jobs = set(session.scalars(select(Job.message_id).where(Job.kind != "inbound_media")))
        assert queued <= queued_jobs, "a queued text without its send job"


def _check(ctx, before: tuple[int, ...], response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    after = _counts(ctx)
    if response.status_code >= 400:
        assert after == before, (response.status_code, response.text)
    else:
        assert after[0] - before[0] <= 1  # one webhook, at most one message


texts = st.text(max_size=80) | st.sampled_from(["", " ", "STOP", "HELP", "#1 hi", "\x00", "x" * 70])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=8)


def test_fuzzed_twilio_webhooks_never_fail_or_half_write(shops, live_server, ctx):
    shop = open_shop(shops)
    sender = phone_of(customer_with_number(shop))
    shop.ticket(shop.customer()["id"])
    sids = st.builds(lambda n: f"SM{n:032x}", st.integers(0, 2**128 - 1)) | texts
    required = {"MessageSid": sids, "From": st.just(sender) | texts, "To": st.just(shop.number) | texts}
    fields = {"Body": texts, "NumMedia": st.sampled_from(["0", "1", "-3", "x", "99"]),
              "MediaUrl0": texts, "MediaContentType0": texts, "OptOutType": texts, "FromCountry": texts,
              "MessageStatus": st.sampled_from(["delivered", "failed", ""]) | texts, "ErrorCode": texts}
    landed = []

    @FUZZ
    @given(path=st.sampled_from(["/webhooks/twilio/inbound", "/webhooks/twilio/status"]),
           form=st.fixed_dictionaries(required, optional=fields), extra=st.dictionaries(texts, texts, max_size=2))
    def post(path, form, extra):
        pairs = list(form.items()) + [(k, v) for k, v in extra.items() if k and k not in form]
        url = live_server.url + path
        before = _counts(ctx)
        response = httpx.post(url, content=urlencode(pairs), timeout=30,
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "X-Twilio-Signature": signature(TWILIO_TOKEN, url, pairs)})
        _check(ctx, before, response)
        landed.append(response.status_code < 400)

    post()
    assert any(landed)  # the fuzzing reached past the signature and the parser
    _nothing_half_written(ctx)


def test_fuzzed_flowroute_webhooks_never_fail_or_half_write(shops, sim, live_server, ctx):
    shop = flowroute_shop(shops, sim)
    sender = phone_of(customer_with_number(shop)).lstrip("+")
    shop.ticket(shop.customer()["id"])
    base = f"{live_server.url}/webhooks/flowroute/{shop.flowroute_token}"
    media = st.fixed_dictionaries({"id": st.just("m1") | json_values, "type": st.just("media") | json_values},
                                  optional={"attributes": st.fixed_dictionaries(
                                      {}, optional={"url": st.just("http://127.0.0.1:9/x.jpg") | json_values,
                                                    "mime_type": json_values, "file_name": json_values})
                                      | json_values})
    attributes = st.fixed_dictionaries({}, optional={"from": st.just(sender) | json_values,
                                                     "to": st.just(shop.number.lstrip("+")) | json_values,
                                                     "body": texts | json_values,
                                                     "status": st.just("delivered") | json_values,
                                                     "status_code": json_values}) | json_values
    data = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=70) | json_values},
                                 optional={"type": json_values, "attributes": attributes,
                                           "relationships": st.fixed_dictionaries(
                                               {}, optional={"media": st.fixed_dictionaries(
                                                   {}, optional={"data": st.lists(media, max_size=2) | json_values})
                                                   | json_values}) | json_values})
    documents = st.fixed_dictionaries({"data": data | json_values},
                                      optional={"included": st.lists(media, max_size=2) | json_values}) | json_values
    landed = []

    @FUZZ
    @given(kind=st.sampled_from(["inbound", "status"]), document=documents)
    def post(kind, document):
        before = _counts(ctx)
        _check(ctx, before, httpx.post(f"{base}/{kind}", json=document, timeout=30))
        landed.append(kind)

    post()
    assert landed
    _nothing_half_written(ctx)


@pytest.fixture
def fuzz_schema(app, live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


def test_a_bounded_schemathesis_run_finds_no_5xx_and_nothing_half_written(fuzz_schema, shops, live_server, ctx):
    shop = open_shop(shops, started=date.today() - timedelta(days=40))
    customer = customer_with_number(shop)
    shop.ticket(customer["id"])
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    started, cases, server_errors = time.monotonic(), [], []

    def probe(operation, mode):
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            response = case.call(base_url=live_server.url, headers=headers, timeout=30)
            cases.append(operation.label)
            if response.status_code >= 500:
                server_errors.append(f"{operation.label}: {response.status_code} for {case.as_curl_command()}")

        return call

    for result in fuzz_schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Nothing to make invalid: an operation without parameters or body has no negative cases.
            with contextlib.suppress(Unsatisfiable):
                probe(result.ok(), mode)()
    elapsed = time.monotonic() - started
    print(f"schemathesis: {len(cases)} cases in {elapsed:.1f} s")
    assert not server_errors, "\n".join(server_errors[:10])
    assert 150 <= len(cases) <= 600 and elapsed < 60, (len(cases), elapsed)
    _nothing_half_written(ctx)

"""One shop cannot stall another's texts: not with a backlog of thousands, not with MMS whose media 404 or answer
429 with Retry-After, not with a provider call that hangs. A worker runs as in production (its lanes on their own
threads) while shop A does its worst; shop B's one text must reach the provider within a second or two."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from support.credentials import TWILIO_TOKEN
from support.inbound import TWILIO_INBOUND, customer_with_number, open_shop, phone_of, post_twilio, signature, twilio_form
from support.loopback import LoopbackHTTP, reply
from support.shops import fresh_number

from repairtext.adapters.db.models import Job, Shop
from repairtext.services.inbound_media import MEDIA_JOB
from repairtext.services.outbound import queue_text
from repairtext.services.worker import Worker

pytestmark = pytest.mark.slow

PATIENCE = 2.0  # seconds: "about a second", with room for a loaded test machine


@pytest.fixture
def running_worker(ctx):
    """A worker as `repairtext worker` runs it: each lane on its own thread, polling often."""
    worker = Worker(ctx, name="fair-worker", concurrency=4)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), kwargs={"idle_wait": 0.05}, daemon=True)
    thread.start()
    yield worker
    stop.set()
    ctx.work_queued.set()
    thread.join(timeout=60)


class _MediaHost(LoopbackHTTP):
    """Allowed media host (127.0.0.1) that answers 404 to everything, or 429 with Retry-After under /busy/."""

    def __init__(self):
        self.requests: list[str] = []
        super().__init__(self._answer)

    def _answer(self, request) -> None:
        self.requests.append(request.path)
        if request.path.startswith("/busy/"):
            reply(request, 429, Retry_After="60")
        else:
            reply(request, 404)


@pytest.fixture
def media_host():
    host = _MediaHost()
    yield host
    host.close()


def _queue_backlog(ctx, shop_id: int, count: int) -> None:
    with ctx.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        for i in range(count):
            queue_text(ctx, session, shop, to=fresh_number(), body=f"Your order #{i} shipped.", trigger="comment")
    ctx.notify_work()


def _mms(live_server, shop, sender: str, urls: list[str]) -> None:
    fields = {"NumMedia": str(len(urls))}
    for i, url in enumerate(urls):
        fields[f"MediaUrl{i}"], fields[f"MediaContentType{i}"] = url, "image/jpeg"
    form = twilio_form(shop, sender, "photos", **fields)
    url = f"{live_server.url}{TWILIO_INBOUND}"
    assert post_twilio(url, form, signature(TWILIO_TOKEN, url, form)).status_code == 200


def _seconds_until_sent(sim, number: str, started: float, limit: float = 60.0) -> float:
    while time.monotonic() - started < limit:
        if any(m["to"] == number for m in sim.messages()):
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


def _shop_b_texts_once(shops) -> tuple[object, str]:
    shop_b = open_shop(shops, name="Shop B")
    customer = customer_with_number(shop_b)
    return shop_b, customer


def test_a_backlog_of_one_shop_does_not_hold_up_another_shops_text(shops, sim, ctx, running_worker):
    shop_a = open_shop(shops, name="Shop A", plan="big_chain")
    shop_b, customer = _shop_b_texts_once(shops)
    _queue_backlog(ctx, shop_a.id, 1000)
    time.sleep(0.5)  # the worker is busy with A's backlog

    shop_b.ticket(customer["id"])  # its text is queued when this answers
    waited = _seconds_until_sent(sim, phone_of(customer), time.monotonic())

    still_queued = len(sim.messages()) < 1000
    assert waited < PATIENCE, f"shop B's text took {waited:.2f}s"
    assert still_queued, "A's backlog was gone before B's text was queued: the test proved nothing"


def test_mms_whose_media_404_or_ask_to_wait_do_not_hold_up_texts(shops, sim, ctx, live_server, media_host,
                                                               running_worker):
    ctx.media_backoff = 0.5  # as in production: Twilio's 404s are retried with backoff
    shop_a = open_shop(shops, name="Shop A")
    sender = phone_of(customer_with_number(shop_a))
    _mms(live_server, shop_a, sender, [media_host.url(f"/busy/{i}.jpg") for i in range(10)])
    for n in range(16):
        _mms(live_server, shop_a, sender, [media_host.url(f"/gone/{n}/{i}.jpg") for i in range(10)])
    shop_b, customer = _shop_b_texts_once(shops)
    time.sleep(0.5)  # the media lane is busy with A's downloads

    shop_b.ticket(customer["id"])  # its text is queued when this answers
    waited = _seconds_until_sent(sim, phone_of(customer), time.monotonic())

    assert waited < PATIENCE, f"shop B's text took {waited:.2f}s"
    # The host that asked to wait 60 s was asked once, and its job waits in the queue, not in a thread.
    assert media_host.requests.count("/busy/0.jpg") == 1
    with ctx.db.transaction() as session:
        busy = session.scalars(select(Job).where(Job.kind == MEDIA_JOB).order_by(Job.id)).first()
        assert busy.state == "pending" and busy.lease_until is None
        assert (busy.run_after - ctx.clock.now()).total_seconds() > 50


def test_a_hung_provider_call_does_not_hold_up_the_outcome_of_the_others(shops, sim, ctx, running_worker):
    ctx.provider_timeout = 8.0
    shop_a = open_shop(shops, name="Shop A")
    shop_b, customer = _shop_b_texts_once(shops)
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "accept_then_timeout", "delay": 6, "count": 1})
    shop_a.ticket(customer_with_number(shop_a)["id"])   # its provider call hangs for 6 s
    time.sleep(0.3)

    ticket = shop_b.ticket(customer["id"])
    started = time.monotonic()
    while time.monotonic() - started < 10:
        [message] = [m for m in shop_b.messages(ticket_id=ticket["id"]) if m["direction"] == "outbound"]
        if message["provider_id"]:
            break
        time.sleep(0.05)
    waited = time.monotonic() - started
    assert message["provider_id"] and waited < PATIENCE, f"shop B's text was recorded after {waited:.2f}s"

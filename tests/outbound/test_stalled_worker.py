"""A worker paused past its lease during a look-up never sends: ownership is checked again right before the
provider call, so the worker that took the job over is the only one that sends it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from support.inbound import customer_with_number, open_shop
from support.processes import worker_env
from support.shops import eventually

from repairtext.adapters.db.models import Job, Message

pytestmark = pytest.mark.slow

LEASE_SECONDS = 3
TEXTS = 3


def _start_worker(settings) -> subprocess.Popen:
    env = worker_env(settings, REPAIRTEXT_JOB_LEASE_SECONDS=str(LEASE_SECONDS))
    command = [sys.executable, "-m", "repairtext.entrypoints.cli", "worker", "--concurrency", "4"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _jobs(ctx) -> list[Job]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def _provider_ids(ctx) -> list[str | None]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(Message.provider_id).where(Message.direction == "outbound")))


def test_a_worker_paused_during_a_look_up_past_its_lease_does_not_send(shops, sim, settings, ctx):
    shop = open_shop(shops)
    for i in range(TEXTS):
        shop.ticket(customer_with_number(shop, name=f"Customer {i}")["id"], subject=f"Job {i}")
    # Every first send fails (so the retry looks the text up first), and those look-ups answer 5 s late, with
    # what the provider had when they were asked: nothing.
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "http_status", "status": 500, "count": TEXTS})
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "slow_lookup", "delay": 5, "count": TEXTS})
    paused = _start_worker(settings)
    taker = None
    try:
        eventually(lambda: all(j.attempts == 2 and j.state == "running" for j in _jobs(ctx)), timeout=30)
        time.sleep(0.5)                              # the retries' look-ups are under way...
        paused.send_signal(signal.SIGSTOP)           # ...and the worker stops in the middle of them
        time.sleep(LEASE_SECONDS + 0.5)
        taker = _start_worker(settings)              # another worker takes the jobs over once the leases ran out
        eventually(lambda: all(_provider_ids(ctx)) and len(sim.messages()) >= TEXTS, timeout=30)
        paused.send_signal(signal.SIGCONT)           # its look-ups answer "not found"; it must not send
        time.sleep(LEASE_SECONDS)
        sent = sim.messages()
        assert len(sent) == TEXTS, [m["to"] for m in sent]
        assert sorted(_provider_ids(ctx)) == sorted(m["id"] for m in sent)
        assert all(j.state == "done" for j in _jobs(ctx))
    finally:
        paused.send_signal(signal.SIGCONT)
        for worker in (paused, taker):
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
        for worker in (paused, taker):
            if worker is not None:
                worker.wait(timeout=30)

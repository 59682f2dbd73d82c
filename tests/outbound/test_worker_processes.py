"""Any number of worker processes against one database: every queued text is sent exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select
from support.processes import worker_env

from repairtext.adapters.db.models import Message

pytestmark = pytest.mark.slow


def test_two_worker_processes_send_each_text_once(shops, sim, settings, ctx):
    shop = shops.create(plan="big_chain")
    tickets = [shop.ticket(shop.customer(f"Customer {i}")["id"], subject=f"Job {i}") for i in range(40)]
    command = [sys.executable, "-m", "repairtext.entrypoints.cli", "worker", "--concurrency", "4"]
    workers = [subprocess.Popen(command, env=worker_env(settings), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with ctx.db.transaction() as session:
                pending = session.scalar(select(func.count()).select_from(Message).where(Message.provider_id.is_(None)))
            if pending == 0:
                break
            time.sleep(0.2)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)
    sent = sim.messages()
    assert len(sent) == len(tickets) == 40
    assert len({m["to"] for m in sent}) == 40
    with ctx.db.transaction() as session:
        ids = session.scalars(select(Message.provider_id)).all()
    assert sorted(ids) == sorted(m["id"] for m in sent)


def test_sigterm_finishes_what_was_claimed_and_leaves_no_lease_behind(shops, sim, settings, ctx):
    from repairtext.adapters.db.models import Job

    shop = shops.create(plan="big_chain")
    for i in range(60):
        shop.ticket(shop.customer(f"Customer {i}")["id"], subject=f"Job {i}")
    # Each send takes 0.3 s at the provider, so SIGTERM lands with sends under way.
    sim.post("/_sim/faults", {"provider": "twilio", "kind": "accept_then_timeout", "delay": 0.3, "count": 60})
    command = [sys.executable, "-m", "repairtext.entrypoints.cli", "worker", "--concurrency", "4"]
    worker = subprocess.Popen(command, env=worker_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not sim.messages() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert worker.wait(timeout=20) == 0
        assert time.monotonic() - stopped_at < 15
    finally:
        if worker.poll() is None:
            worker.kill()
    with ctx.db.transaction() as session:
        running = session.scalar(select(func.count()).select_from(Job).where(Job.state == "running"))
        sent_ids = set(session.scalars(select(Message.provider_id).where(Message.provider_id.is_not(None))))
    assert running == 0  # nothing claimed was left to wait for its lease
    at_provider = {m["id"] for m in sim.messages()}
    assert 0 < len(at_provider) < 60 and at_provider == sent_ids  # every accepted send was recorded before exit

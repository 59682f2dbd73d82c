"""Housekeeping runs once per period whatever the number of workers; on PostgreSQL a committed job wakes a
listening worker at once and a rolled-back one wakes nobody."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from repairtext.adapters.db.models import Job
from repairtext.adapters.db.periodic import claim_period
from repairtext.adapters.db.wakeups import work_listener
from repairtext.bootstrap import build_context

EVERY = timedelta(minutes=1)


def test_of_many_workers_one_runs_each_period(settings):
    contexts = [build_context(settings) for _ in range(6)]
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    barrier = threading.Barrier(len(contexts))

    def attempt(ctx, at):
        barrier.wait()
        with ctx.db.transaction() as session:
            return claim_period(session, "rollover", at, EVERY)

    try:
        with ThreadPoolExecutor(len(contexts)) as pool:
            first = list(pool.map(lambda c: attempt(c, start), contexts))
            soon = list(pool.map(lambda c: attempt(c, start + EVERY / 2), contexts))
            later = list(pool.map(lambda c: attempt(c, start + EVERY), contexts))
        assert (first.count(True), soon.count(True), later.count(True)) == (1, 0, 1)
        with contexts[0].db.transaction() as session:
            assert claim_period(session, "another task", start, EVERY)  # tasks are counted apart
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_committed_job_wakes_a_listening_worker(ctx, database_template):
    if database_template[0] != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the server wakes its in-process worker")
    woken, stop = threading.Event(), threading.Event()
    listener = work_listener(ctx.settings.database_url, woken.set, stop).start()
    try:
        assert listener.listening.wait(10)
        time.sleep(0.1)
        woken.clear()
        now = datetime.now(UTC)
        job = dict(kind="noop", state="done", run_after=now, created_at=now)

        with pytest.raises(RuntimeError), ctx.db.transaction() as session:
            session.execute(insert(Job), job)
            raise RuntimeError("rolled back")
        assert not woken.wait(1.0)

        started = time.monotonic()
        with ctx.db.transaction() as session:
            session.execute(insert(Job), job)
        assert woken.wait(2.0)
        assert time.monotonic() - started < 0.5
    finally:
        stop.set()
        listener.join(5)

"""The worker: claims due outbox jobs and carries them out; also starts each shop's month on time and applies
delivery receipts that arrived before their message was recorded.

Work runs in lanes, one per kind of job, each with its own claims and threads: media downloads (slow hosts,
429s) never hold up a text, and a text never waits for another to finish. Within a lane, every job is recorded
as soon as it finishes, not when the slowest of its claim does, and claims take due jobs round-robin across shops
(adapters/db/jobs.py), so a shop with thousands queued does not keep another shop's one text waiting.

Run inline in the server (REPAIRTEXT_WORKER=inline) or as `repairtext worker` processes, any number of them.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from repairtext.adapters.db.jobs import claim_due_jobs
from repairtext.adapters.db.models import Job
from repairtext.adapters.db.periodic import claim_period
from repairtext.adapters.db.rows import must_get
from repairtext.adapters.db.wakeups import work_listener
from repairtext.bootstrap import Context
from repairtext.services import credits, events, inbound_media, receipts, reconcile, sending
from repairtext.services.outbound import SEND_JOB

log = logging.getLogger("repairtext.worker")

HOUSEKEEPING_EVERY = timedelta(minutes=1)
# On PostgreSQL a worker hears of new work by LISTEN/NOTIFY; polling is only the fallback (a notification missed
# while reconnecting, a retry whose time came), so it can be slow.
POLL_WHEN_LISTENING = 5.0
# A finished job is recorded within this many seconds, together with whatever else finished meanwhile.
RECORD_WITHIN = 0.02
# A lane with any free room claims at least this often (seconds), so a newly due job never waits long for
# its claim even while the lane is busy (claims are otherwise made once half the room is free).
CLAIM_EVERY = 0.1


T = TypeVar("T")


class TakeTurns(Generic[T]):
    """Claimed jobs waiting for a thread, handed out round-robin by shop: what one shop had claimed already does
    not stand in line before another shop's text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: OrderedDict[object, deque[T]] = OrderedDict()

    def put(self, shop: object, item: T) -> None:
        with self._lock:
            self._waiting.setdefault(shop, deque()).append(item)

    def take(self) -> T:
        with self._lock:
            shop, items = self._waiting.popitem(last=False)
            item = items.popleft()
            if items:
                self._waiting[shop] = items  # to the back of the line
            return item


class Lane:
    """Jobs of some kinds, up to `room` claimed at a time, carried out on `threads` threads of the lane's own.

    `start(job_ids)` turns freshly claimed jobs into futures (one per job it goes on with); `finish(futures)`
    records the ones that are done. Both run on the thread that pumps the lane."""

    def __init__(self, worker: Worker, name: str, kinds: tuple[str, ...], threads: int, room: int,
                 start: Callable[[list[int]], dict[Future, int | None]], finish: Callable[[list[Future]], None]):
        self.worker, self.name, self.kinds, self.room = worker, name, kinds, room
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"repairtext-{name}")
        self._start, self._finish = start, finish
        self.in_flight: dict[Future, int | None] = {}  # claimed and not recorded yet, finished or not
        self._finished: queue.SimpleQueue[Future] = queue.SimpleQueue()  # fed by each future as it finishes
        self._done: list[Future] = []
        self._done_since: float | None = None
        self._claimed_at = 0.0

    def pump(self, wait_for: float = 0.0, claim: bool = True) -> int:
        """Record what finished, claim due jobs into the free room (once half of it is free, so claims are of
        many rows, or CLAIM_EVERY after the last claim), then wait up to `wait_for` seconds for something to
        finish. Returns jobs claimed.

        Finished jobs are recorded together once a quarter of the room has finished, or nothing else is under
        way, or RECORD_WITHIN after the first of them finished: never later for waiting on a slow one."""
        self._collect(None)
        if self._done:
            now = time.monotonic()
            self._done_since = self._done_since or now
            if (len(self._done) * 4 >= self.room or len(self._done) == len(self.in_flight)
                    or now - self._done_since >= RECORD_WITHIN):
                done, self._done, self._done_since = self._done, [], None
                self._record(done)
        free = self.room - len(self.in_flight)
        claimed = []
        now = time.monotonic()
        if claim and free > 0 and (free * 2 >= self.room or not self.in_flight or now - self._claimed_at >= CLAIM_EVERY):
            self._claimed_at = now
            claimed = self.worker.claim(self.kinds, free)
            if claimed:
                self._begin(claimed)
        if len(self.in_flight) > len(self._done) and wait_for > 0:
            self._collect(min(wait_for, RECORD_WITHIN if self._done_since else CLAIM_EVERY))
        return len(claimed)

    def _collect(self, timeout: float | None) -> None:
        """Move what finished into self._done, waiting up to `timeout` seconds for a first one if given."""
        try:
            if timeout:
                self._done.append(self._finished.get(timeout=timeout))
            while True:
                self._done.append(self._finished.get_nowait())
        except queue.Empty:
            pass

    def run_until_idle(self) -> int:
        """Claim and carry out until nothing is due and nothing is in flight (tests, the CLI's drain)."""
        total = 0
        while True:
            claimed = self.pump(wait_for=0.05)
            total += claimed
            if not claimed and not self.in_flight:
                return total

    def _begin(self, job_ids: list[int]) -> None:
        try:
            started = self._start(job_ids)
        except Exception as exc:
            log.exception("%s lane: starting %d job(s) failed", self.name, len(job_ids))
            for job_id in job_ids:
                self.worker.release_after_crash(job_id, self.kinds[0], exc)
            return
        self.in_flight.update(started)
        for future in started:
            future.add_done_callback(self._finished.put)

    def _record(self, done: list[Future]) -> None:
        jobs = [self.in_flight.pop(f) for f in done]
        try:
            self._finish(done)
        except Exception as exc:
            log.exception("%s lane: recording %d job(s) failed", self.name, len(jobs))
            for job_id in jobs:
                if job_id is not None:
                    self.worker.release_after_crash(job_id, self.kinds[0], exc)

    def run_forever(self, stop: threading.Event, wake: threading.Event | None, idle_wait: float) -> None:
        while not stop.is_set():
            try:
                if self.pump(wait_for=idle_wait) or self.in_flight:
                    continue
            except Exception:
                log.exception("%s lane error; retrying shortly", self.name)
            if wake is None:
                stop.wait(idle_wait)
            else:
                wake.wait(idle_wait)
                wake.clear()
        while self.in_flight:  # let what is under way finish and be recorded
            self.pump(wait_for=idle_wait, claim=False)


class Worker:
    def __init__(self, ctx: Context, name: str | None = None, concurrency: int = 4, batch: int | None = None):
        self.ctx = ctx
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.concurrency = concurrency
        self.wake = ctx.work_queued
        self.media_wake = threading.Event()
        self._last_housekeeping: datetime | None = None
        self._turns: TakeTurns[tuple[sending.Attempt, float]] = TakeTurns()
        # A few sends per thread in flight keep the database work per text small (claims and records of many
        # texts at once) while each is still recorded within moments of its provider's answer.
        self.sends = Lane(self, "send", (SEND_JOB,), concurrency, batch or concurrency * 8,
                          self._start_sends, self._finish_sends)
        self.media = Lane(self, "media", (inbound_media.MEDIA_JOB,), max(1, concurrency // 2),
                          max(1, concurrency // 2), self._start_media, self._finish_media)
        self.lanes = (self.sends, self.media)

    def claim(self, kinds: tuple[str, ...], limit: int) -> list[int]:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            return [job.id for job in claim_due_jobs(session, self.name, now, sending.lease(self.ctx), limit, kinds)]

    def _start_sends(self, job_ids: list[int]) -> dict[Future, int | None]:
        renewed_at = time.monotonic()
        attempts = sending.begin_attempts(self.ctx, job_ids, self.name)
        for attempt in attempts:
            self._turns.put(attempt.shop_id, (attempt, renewed_at))
        # One task per attempt; which attempt a task carries out is decided when it gets its thread.
        return {self.sends.pool.submit(self._send_next): None for _ in attempts}

    def _send_next(self) -> sending.Outcome:
        attempt, renewed_at = self._turns.take()
        return sending.attempt_send(self.ctx, attempt, self.name, renewed_at)

    def _finish_sends(self, done: list[Future]) -> None:
        outcomes = [f.result() for f in done]
        try:
            sending.record_outcomes(self.ctx, self.name, outcomes)
        except Exception as exc:
            log.exception("send lane: recording %d outcome(s) failed", len(outcomes))
            for outcome in outcomes:
                self.release_after_crash(outcome.attempt.job_id, SEND_JOB, exc)

    def _start_media(self, job_ids: list[int]) -> dict[Future, int | None]:
        return {self.media.pool.submit(self._run_media, job_id): job_id for job_id in job_ids}

    def _run_media(self, job_id: int) -> None:
        try:
            inbound_media.process_media(self.ctx, job_id, self.name)
        except Exception as exc:  # a bug in one job must not stop the others
            log.exception("media job %s failed", job_id)
            self.release_after_crash(job_id, inbound_media.MEDIA_JOB, exc)

    def _finish_media(self, done: list[Future]) -> None:
        pass  # each media job records its own result

    def release_after_crash(self, job_id: int, kind: str, exc: Exception) -> None:
        now = self.ctx.clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        with self.ctx.db.transaction() as session:
            job = must_get(session, Job, job_id, with_for_update=True)
            if job.state != "running" or job.locked_by != self.name:
                return
            job.last_error = reason
            if job.attempts < job.max_attempts:
                job.state, job.lease_until = "pending", None
                job.run_after = now + sending.backoff(job.attempts, None)
                return
            job.state, job.finished_at = "failed", now
        if kind == SEND_JOB:
            sending.fail_after_crash(self.ctx, job_id, f"the text could not be sent ({reason})")

    def run_once(self) -> int:
        """Each lane in turn until it is idle. Returns how many jobs were claimed."""
        return sum(lane.run_until_idle() for lane in self.lanes)

    def drain(self, max_rounds: int = 1000) -> int:
        """Run until nothing is due (tests, the CLI). Returns jobs claimed."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            total += n
            if not n:
                break
        return total

    def housekeeping(self, force: bool = False) -> None:
        """Deployment-wide chores, each run by one worker per period however many there are
        (adapters/db/periodic.py); this worker only asks once a minute whether it is its turn."""
        now = self.ctx.clock.now()
        if not (force or self._last_housekeeping is None or now - self._last_housekeeping >= HOUSEKEEPING_EVERY):
            return
        self._last_housekeeping = now
        for task, every, run in self._chores:
            if force or self._my_turn(task, every, now):
                run()

    @property
    def _chores(self) -> tuple:
        return (("rollover", HOUSEKEEPING_EVERY, self._rollover),
                ("parked_receipts", HOUSEKEEPING_EVERY, lambda: receipts.do_apply_parked_receipts(self.ctx)),
                ("reconcile", HOUSEKEEPING_EVERY, lambda: reconcile.do_reconcile(self.ctx)),
                ("prune_events", timedelta(hours=1), lambda: events.do_prune(self.ctx)))

    def _my_turn(self, task: str, every: timedelta, now) -> bool:
        # A little less than the period: workers that all ask every minute must not skip a minute by jitter.
        with self.ctx.db.transaction() as session:
            return claim_period(session, task, now, every - timedelta(seconds=5))

    def _rollover(self) -> None:
        rolled = credits.do_rollover(self.ctx, self.ctx.clock.now())
        if rolled:
            log.info("started a new credit month for %d shop(s)", len(rolled))

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Each lane on a thread of its own (sends are woken at once when work is queued; media poll), and the
        housekeeping on this one."""
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        listener = None
        if not self.ctx.db.is_sqlite:
            listener = work_listener(self.ctx.settings.database_url, self.wake_lanes, stop).start()
            idle_wait = max(idle_wait, POLL_WHEN_LISTENING)
        threads = [threading.Thread(target=lane.run_forever, name=f"repairtext-{lane.name}-lane", daemon=True,
                                    args=(stop, self.wake if lane is self.sends else self.media_wake, idle_wait))
                   for lane in self.lanes]
        for thread in threads:
            thread.start()
        self._stopped = stop
        while not stop.is_set():
            try:
                self.housekeeping()
            except Exception:
                log.exception("housekeeping failed; retrying shortly")
            stop.wait(idle_wait)
        for thread in threads:
            thread.join()
        if listener is not None:
            listener.join(5)
        self.close()
        log.info("worker %s stopped: every job it had claimed was carried out and recorded", self.name)

    def wake_lanes(self) -> None:
        self.wake.set()
        self.media_wake.set()

    def close(self) -> None:
        for lane in self.lanes:
            lane.pool.shutdown(wait=True)

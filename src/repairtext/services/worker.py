"""The worker: claims due outbox jobs and carries them out; also starts each shop's month on time and applies
delivery receipts that arrived before their message was recorded.

Run inline in the server (REPAIRTEXT_WORKER=inline) or as `repairtext worker` processes, any number of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from repairtext.adapters.db.jobs import claim_due_jobs
from repairtext.adapters.db.models import Job
from repairtext.bootstrap import Context
from repairtext.services import credits, receipts, reconcile, sending
from repairtext.services.outbound import SEND_JOB

log = logging.getLogger("repairtext.worker")

HOUSEKEEPING_EVERY = timedelta(minutes=1)


def handlers() -> dict[str, Callable[[Context, int, str], None]]:
    """Jobs carried out one at a time (sends go in batches, see run_once)."""
    from repairtext.services import inbound_media

    return {SEND_JOB: sending.process_send, inbound_media.MEDIA_JOB: inbound_media.process_media}


class Worker:
    def __init__(self, ctx: Context, name: str | None = None, concurrency: int = 4, batch: int | None = None):
        self.ctx = ctx
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.concurrency = concurrency
        # Claiming a few rounds of work at once keeps the database work per text small; sending.START_WITHIN
        # makes sure a claimed send that waited too long for a thread is left for the next claim.
        self.batch = batch or concurrency * 4
        self.wake = ctx.work_queued
        self._handlers = handlers()
        self._last_housekeeping = None
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="repairtext-worker")

    def run_once(self) -> int:
        """Claim a batch of due jobs and carry them out: the sends together (one transaction before, the
        provider calls in parallel, one transaction after), other jobs one by one. Returns how many."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            claimed = [(job.id, job.kind) for job in claim_due_jobs(session, self.name, now, sending.LEASE, self.batch)]
        if not claimed:
            return 0
        sends = [job_id for job_id, kind in claimed if kind == SEND_JOB]
        others = [(job_id, kind) for job_id, kind in claimed if kind != SEND_JOB]
        if sends:
            try:
                sending.process_send_batch(self.ctx, sends, self.name, run=self._pool.map)
            except Exception as exc:
                log.exception("send batch failed")
                for job_id in sends:
                    self._release_after_crash(job_id, SEND_JOB, exc)
        list(self._pool.map(self._run_job, others))
        return len(claimed)

    def _run_job(self, job: tuple[int, str]) -> None:
        job_id, kind = job
        try:
            self._handlers[kind](self.ctx, job_id, self.name)
        except Exception as exc:  # a bug in one job must not stop the others
            log.exception("job %s (%s) failed", job_id, kind)
            self._release_after_crash(job_id, kind, exc)

    def _release_after_crash(self, job_id: int, kind: str, exc: Exception) -> None:
        now = self.ctx.clock.now()
        reason = f"{type(exc).__name__}: {exc}"
        with self.ctx.db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=True)
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
        now = self.ctx.clock.now()
        if force or self._last_housekeeping is None or now - self._last_housekeeping >= HOUSEKEEPING_EVERY:
            self._last_housekeeping = now
            rolled = credits.do_rollover(self.ctx, now)
            if rolled:
                log.info("started a new credit month for %d shop(s)", len(rolled))
            receipts.do_apply_parked_receipts(self.ctx)
            reconcile.do_reconcile(self.ctx)

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        while not stop.is_set():
            try:
                self.housekeeping()
                if self.run_once():
                    continue
            except Exception:
                log.exception("worker loop error; retrying shortly")
            self.wake.wait(idle_wait)
            self.wake.clear()
        self._pool.shutdown(wait=True)

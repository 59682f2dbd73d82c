"""The worker: claims due outbox jobs and carries them out; also starts each shop's month on time.

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
from repairtext.services import credits, sending
from repairtext.services.outbound import SEND_JOB

log = logging.getLogger("repairtext.worker")

LEASE = timedelta(seconds=60)
ROLLOVER_EVERY = timedelta(minutes=5)


def handlers() -> dict[str, Callable[[Context, int], None]]:
    from repairtext.services import inbound_media

    return {SEND_JOB: sending.process_send, inbound_media.MEDIA_JOB: inbound_media.process_media}


class Worker:
    def __init__(self, ctx: Context, name: str | None = None, concurrency: int = 4, batch: int = 50):
        self.ctx = ctx
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.concurrency = concurrency
        self.batch = batch
        self.wake = ctx.work_queued
        self._handlers = handlers()
        self._last_rollover = None
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="repairtext-worker")

    def run_once(self) -> int:
        """Claim one batch of due jobs and carry them out. Returns how many were claimed."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            jobs = claim_due_jobs(session, self.name, now, LEASE, self.batch)
            claimed = [(job.id, job.kind) for job in jobs]
        if not claimed:
            return 0
        list(self._pool.map(self._run_job, claimed))
        return len(claimed)

    def _run_job(self, job: tuple[int, str]) -> None:
        job_id, kind = job
        try:
            self._handlers[kind](self.ctx, job_id)
        except Exception as exc:  # a bug in one job must not stop the others; the lease brings it back
            log.exception("job %s (%s) failed", job_id, kind)
            self._release_after_crash(job_id, exc)

    def _release_after_crash(self, job_id: int, exc: Exception) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            job = session.get(Job, job_id)
            job.last_error = f"{type(exc).__name__}: {exc}"
            if job.attempts >= job.max_attempts:
                job.state, job.finished_at = "failed", now
            else:
                job.state, job.lease_until = "pending", None
                job.run_after = now + sending.backoff(job.attempts, None)

    def drain(self, max_rounds: int = 1000) -> int:
        """Run until nothing is due (tests, the CLI). Returns jobs claimed."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            total += n
            if not n:
                break
        return total

    def maybe_rollover(self) -> None:
        now = self.ctx.clock.now()
        if self._last_rollover is None or now - self._last_rollover >= ROLLOVER_EVERY:
            self._last_rollover = now
            rolled = credits.do_rollover(self.ctx, now)
            if rolled:
                log.info("started a new credit month for %d shop(s)", len(rolled))

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        while not stop.is_set():
            try:
                self.maybe_rollover()
                if self.run_once():
                    continue
            except Exception:
                log.exception("worker loop error; retrying shortly")
            self.wake.wait(idle_wait)
            self.wake.clear()
        self._pool.shutdown(wait=True)

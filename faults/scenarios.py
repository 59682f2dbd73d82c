"""The scenarios. Each one: fresh shops, customers and the webhook senders' tickets (before any fault), then
load, webhooks and its faults at once, then drain (bounded), stop every worker (so nothing can still send), and
check. Sizes and times come from the command line (see run.py)."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text

from faults.checks import Row, check, wait_drained
from faults.client import use_flowroute
from faults.load import (
    Traffic,
    make_customers,
    open_ticket,
    post_webhooks,
    run_paced,
    ticket_with_comments,
    webhook_senders,
)
from faults.procs import Child
from faults.stack import TWILIO_TOKEN, Stack


@dataclass(frozen=True)
class Options:
    texts: int = 300
    webhooks: int = 40
    clients: int = 6
    load_seconds: float = 20.0
    stall: float = 70.0  # SIGSTOP this long: past the 60 s lease
    db_down: float = 10.0
    drain: float = 150.0


Faults = Callable[[Stack, Traffic, Options, threading.Event], list[str]]


def _then(work: Callable[[], None], done: threading.Event) -> None:
    try:
        work()
    finally:
        done.set()


def _run(stack: Stack, opts: Options, name: str, letter: str, *, workers: int, flowroute: bool,
         make_load: Callable[[Traffic, Options], tuple[Sequence[Callable[[], object]], float]], faults: Faults) -> Row:
    started = time.monotonic()
    shops = [stack.shop(f"{name} {i}") for i in range(max(1, -(-opts.texts // 500)) + flowroute)]
    if flowroute:
        use_flowroute(shops[-1], stack.sim)
    traffic = Traffic(letter, shops, stack.engine)
    senders = webhook_senders(traffic, opts.webhooks, opts.clients)
    tasks, seconds = make_load(traffic, opts)
    stack.start_workers(workers, concurrency=4)
    set_up = time.monotonic() - started

    load_done, notes = threading.Event(), []
    threads = [
        threading.Thread(target=_then, args=(lambda: run_paced(tasks, seconds, opts.clients), load_done)),
        threading.Thread(target=post_webhooks, args=(traffic, senders, stack.url + "/webhooks/twilio/inbound",
                                                     TWILIO_TOKEN, max(seconds, opts.load_seconds))),
        threading.Thread(target=lambda: notes.extend(faults(stack, traffic, opts, load_done))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaded = time.monotonic() - started - set_up
    drained = wait_drained(stack.engine, traffic.shop_ids, opts.drain)
    time.sleep(3)  # a provider call a stalled worker still had in flight would land by now
    stack.stop_workers()
    row = Row(name, notes=[*notes, f"set up {set_up:.0f}s, load and faults {loaded:.0f}s, drained in {drained:.0f}s"])
    check(row, stack.engine, stack.sim, stack.env, traffic.shop_ids, traffic.senders, traffic.requests,
          traffic.webhooks)
    stack.sim.post("/_sim/reset").raise_for_status()  # leftover faults must not reach the next scenario
    row.seconds = time.monotonic() - started
    return row


def _tickets_and_comments(traffic: Traffic, opts: Options) -> tuple[Sequence[Callable[[], object]], float]:
    """texts/3 tickets, each with two SMS comments, spread over the load window."""
    customers = make_customers(traffic, max(1, opts.texts // 3), opts.clients)
    tasks = [lambda i=i, sc=sc: ticket_with_comments(traffic, sc[0], sc[1], i) for i, sc in enumerate(customers)]
    return tasks, opts.load_seconds


# --- workers SIGKILLed and SIGSTOPped ------------------------------------------------------------------------


def _jobs_held(stack: Stack) -> dict[int, int]:
    """Running jobs per worker pid (a worker names itself host:pid:object), read from the outbox."""
    try:
        with stack.engine.connect() as db:
            rows = db.execute(text("SELECT locked_by, count(*) FROM jobs WHERE state = 'running' GROUP BY locked_by"))
            return {int(owner.split(":")[-2]): n for owner, n in rows if owner and owner.count(":") >= 2}
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        return {}


def _holder(stack: Stack, spared: list[Child], within: float) -> tuple[Child | None, int]:
    """A running worker holding jobs (the busiest), waited for up to `within` seconds; a worker with nothing
    claimed is no test, and one still starting up would only be a slower worker."""
    deadline = time.monotonic() + within
    while True:
        held = _jobs_held(stack)
        candidates = [w for w in stack.workers if w.alive() and w not in spared and held.get(w.pid)]
        if candidates:
            victim = max(candidates, key=lambda w: held[w.pid])
            return victim, held[victim.pid]
        if time.monotonic() > deadline:
            return None, 0
        time.sleep(0.05)


def _slow_answers(stack: Stack, count: int = 2) -> None:
    """Sends the provider accepts at once but answers 2 s late (inside the 10 s timeout): a worker killed or
    stopped meanwhile leaves a text the provider has and we have not recorded."""
    stack.sim.post("/_sim/faults", json={"provider": "twilio", "kind": "accept_then_timeout", "delay": 2,
                                         "count": count}).raise_for_status()


def _worker_faults(stack: Stack, traffic: Traffic, opts: Options, load_done: threading.Event) -> list[str]:
    """Every 3 s while the load lasts (and 10 s more), the busiest worker holding jobs is SIGKILLed and replaced
    (at most 8), or (the first and third time) SIGSTOPped past its lease; provider 500s and slow answers throughout, so kills
    and stalls land mid-send and some texts are retries that look up before sending."""
    start = time.monotonic()
    kills, held_by_killed, held_by_stalled = 0, 0, 0
    stalled: list[tuple[Child, float]] = []
    for tick in itertools.count():
        if len(stalled) == 2 and (kills >= 8 or time.monotonic() - start > opts.load_seconds + 10) or tick >= 15:
            break
        stack.sim.post("/_sim/faults", json={"provider": "twilio", "kind": "http_status", "status": 500,
                                             "count": 2}).raise_for_status()
        _slow_answers(stack, 3)
        stall = tick in (0, 2) or load_done.is_set()
        victim, held = _holder(stack, [w for w, _ in stalled], within=10 if stall else 3)
        if victim is not None and stall:
            victim.signal(signal.SIGSTOP)
            stalled.append((victim, time.monotonic()))
            held_by_stalled += held
        elif victim is not None:
            victim.kill()
            stack.replace_worker(victim)
            kills, held_by_killed = kills + 1, held_by_killed + held
        load_done.wait(3)
    for worker, since in stalled:
        time.sleep(max(0.0, since + opts.stall - time.monotonic()))
        worker.signal(signal.SIGCONT)
    return [f"{kills} workers SIGKILLed holding {held_by_killed} jobs",
            f"{len(stalled)} SIGSTOPped {opts.stall:.0f}s holding {held_by_stalled} jobs",
            f"faults done after {time.monotonic() - start:.0f}s"]


# --- provider faults ---------------------------------------------------------------------------------------

_PROVIDER_FAULTS: list[dict[str, int | str]] = [
    {"kind": "http_status", "status": 500, "count": 3},
    {"kind": "http_status", "status": 429, "retry_after": 2, "count": 3},
    {"kind": "timeout_before_accept", "delay": 11, "count": 1},   # past the adapter's 10 s read timeout
    {"kind": "accept_then_timeout", "delay": 11, "count": 2},     # accepted, the answer cut off
    {"kind": "http_status", "status": 503, "count": 2},
]


def _provider_faults(stack: Stack, traffic: Traffic, opts: Options, load_done: threading.Event) -> list[str]:
    """Twilio and Flowroute in turn get 500, 429 (Retry-After), timeouts before accepting and answers cut after
    accepting, every 0.8 s while the load lasts: about one send in four, at most."""
    injected: dict[str, int] = {}
    tick, budget = 0, max(5, opts.texts // 4)
    while not load_done.is_set() and sum(injected.values()) < budget:
        fault = _PROVIDER_FAULTS[tick % len(_PROVIDER_FAULTS)]
        provider = ("twilio", "flowroute")[tick % 2]
        stack.sim.post("/_sim/faults", json={"provider": provider, **fault}).raise_for_status()
        label = str(fault["kind"] if fault["kind"] != "http_status" else fault["status"])
        injected[label] = injected.get(label, 0) + int(fault["count"])
        tick += 1
        load_done.wait(0.8)
    return ["faults injected: " + ", ".join(f"{k} x{v}" for k, v in injected.items())]


# --- the database stopped ----------------------------------------------------------------------------------


def _database_faults(stack: Stack, traffic: Traffic, opts: Options, load_done: threading.Event) -> list[str]:
    """PostgreSQL stopped (pg_ctl stop -m fast) a third of the way into the load, started again after 10 s;
    slow provider answers before it, so workers are mid-send when it goes."""
    deadline = time.monotonic() + opts.load_seconds * 0.35
    while time.monotonic() < deadline:
        _slow_answers(stack, 3)
        time.sleep(1.0)
    _slow_answers(stack, 3)
    _holder(stack, [], within=5)
    held = sum(_jobs_held(stack).values())
    stack.cluster.stop("fast")
    down = time.monotonic()
    time.sleep(opts.db_down)
    stack.cluster.start()
    stack.cluster.wait_ready()
    return [f"PostgreSQL down {time.monotonic() - down:.1f}s with {held} jobs running"]


# --- the server killed during a burst ----------------------------------------------------------------------


def _burst(traffic: Traffic, opts: Options) -> tuple[Sequence[Callable[[], object]], float]:
    """`texts` tickets at once, as fast as the clients go."""
    customers = make_customers(traffic, opts.texts, opts.clients)
    traffic.progress = 0
    return [lambda i=i, sc=sc: open_ticket(traffic, sc[0], sc[1], i) for i, sc in enumerate(customers)], 0.0


def _server_faults(stack: Stack, traffic: Traffic, opts: Options, load_done: threading.Event) -> list[str]:
    """`repairtext serve` SIGKILLed at a quarter, half and three quarters of the burst, and started again."""
    downtimes = []
    for share in (0.25, 0.5, 0.75):
        while not load_done.is_set() and traffic.progress < share * opts.texts:
            time.sleep(0.05)
        if load_done.is_set():
            break
        killed = time.monotonic()
        stack.restart_server()
        downtimes.append(time.monotonic() - killed)
    return [f"server SIGKILLed {len(downtimes)} times during the burst, down "
            + ", ".join(f"{d:.0f}s" for d in downtimes),
            "Idempotency-Key honoured: retried blindly" if stack.idempotent
            else "Idempotency-Key not honoured yet: looked before retrying"]


SCENARIOS: dict[str, tuple[str, int, bool, Callable, Faults]] = {
    # name: (token letter, workers, a Flowroute shop too, load, faults)
    "workers killed/stopped": ("w", 4, False, _tickets_and_comments, _worker_faults),
    "provider faults": ("p", 3, True, _tickets_and_comments, _provider_faults),
    "database stopped": ("d", 3, False, _tickets_and_comments, _database_faults),
    "server killed": ("s", 2, False, _burst, _server_faults),
}


def run_scenario(stack: Stack, opts: Options, name: str) -> Row:
    letter, workers, flowroute, load, faults = SCENARIOS[name]
    return _run(stack, opts, name, letter, workers=workers, flowroute=flowroute, make_load=load, faults=faults)

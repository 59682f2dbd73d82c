"""Outbound texts end to end: queued in the outbox, then sent by one worker process to the simulator's Twilio API.

Target (the issue): "at least 1,000 texts a second end to end through one worker process on PostgreSQL and on
SQLite". For each database and worker concurrency (threads) this prints:

  enqueue   texts recorded + credits debited + outbox row, one `queue_text` transaction each (what a ticket
            comment or status change costs), single-threaded, timed apart from sending;
  send      `Worker(ctx, concurrency=N).drain()` in this process: claim, mark sending, POST to the simulator's
            Messages.json over loopback, record the provider id (texts/s; the target figure);
  e2e       queued-to-sent of the same texts: N / (enqueue time + drain time);
  ceiling   raw httpx POSTs of the same form to the same simulator with the same concurrency and the same
            client settings as the app's provider client; `send` is also printed as a share of it;
  cpu       CPU time this process spent in the drain per text: the worker's own cost, which the load other
            processes put on the machine moves less than texts/s.

The shop is on the Big Chain plan with add-on packs bought (every text debits one credit: the built-in Twilio
path). The simulator runs in a process of its own (Twilio is another machine; here it is the other core) with
auto callbacks off, so the send figure is the worker alone; `--callbacks` adds one run with the simulator's
status callbacks on, received by our app served by uvicorn in a third process, and reports how long until every
text is `delivered`. `--history N` bulk-loads N earlier texts into the shop and runs once more: a send's cost
must not grow with the shop's past. `--shipped-simulator` serves the simulator through SimulatorServer exactly as
shipped (see bench/README.md: its sockets lack TCP_NODELAY). Figures are printed, never asserted.

    .venv/bin/python bench/outbound_throughput.py [--db sqlite|postgresql|both] [--texts 1500]
        [--concurrency 8,16,32] [--history 100000] [--callbacks]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _support import bench_database, child, emit, loopback_socket  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from repairtext.adapters.db.models import Message, Shop  # noqa: E402
from repairtext.bootstrap import build_context  # noqa: E402
from repairtext.config import Settings  # noqa: E402

TARGET = 1000.0  # texts/s
TWILIO_SID = "AC" + "be" * 16
TWILIO_TOKEN = "bench-auth-token-" + "b" * 16
BODY = "Fix-It Phone Repair: your iPhone 13 (ticket #{n}) is ready for pickup. Reply STOP to opt out."
SHOP_NUMBER = "+12065550100"
RUN_LIMIT = 60.0  # seconds: a drain slower than this stops being timed (bounded in time)


# --- processes ---------------------------------------------------------------------------------------------


def serve_in_thread(app, sock: socket.socket):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread


def serve_simulator(callbacks: bool, shipped: bool) -> None:
    """Child process: the simulator on a free loopback port; prints its URL and serves until stdin closes.
    `shipped`: through SimulatorServer exactly as the package ships it (with its ~40 ms per response)."""
    from repairtext.simulator import SimulatorConfig, SimulatorServer, create_app

    config = SimulatorConfig(twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN, auto_callbacks=callbacks,
                             callback_delay=0.05)
    if shipped:
        server = SimulatorServer(config, port=0).start()
        print(server.url, flush=True)
        sys.stdin.read()
        server.stop()
        return
    sock = loopback_socket()
    server, thread = serve_in_thread(create_app(config), sock)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(timeout=10)


def serve_app(database_url: str, simulator_url: str) -> None:
    """Child process: our app (no inline worker) on a free loopback port, to receive status callbacks."""
    from repairtext.entrypoints.app import create_app

    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ctx = build_context(settings_for(database_url, simulator_url, url))
    server, thread = serve_in_thread(create_app(ctx, inline_worker=False), sock)
    print(url, flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(timeout=10)
    ctx.close()


# --- databases ---------------------------------------------------------------------------------------------


def settings_for(database_url: str, simulator_url: str, public_url: str = "http://127.0.0.1:9") -> Settings:
    return Settings.from_env(
        env={}, database_url=database_url, blob_dir=tempfile.gettempdir() + "/repairtext-bench-blobs",
        public_url=public_url, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_api_base=simulator_url, flowroute_api_base=simulator_url, worker="off", secret_key="bench",
    )


# --- the measured work -------------------------------------------------------------------------------------


def customer_number(i: int) -> str:
    return f"+1312{2000000 + i:07d}"


def make_shop(ctx, credits_needed: int) -> int:
    from repairtext.services.credits import do_buy_addon
    from repairtext.services.shops import do_create_shop

    # Started 60 days ago, so add-on packs are on sale (30 days after the start).
    started = (ctx.clock.now() - timedelta(days=60)).date()
    shop = do_create_shop(ctx, name="Bench Phone Repair", plan="big_chain", numbers=[SHOP_NUMBER],
                          time_zone="America/Chicago", started=started).shop
    for _ in range(credits_needed // ctx.catalog.addon.credits + 1):
        do_buy_addon(ctx, shop.id)
    return shop.id


def enqueue(ctx, shop_id: int, first: int, count: int) -> float:
    """`count` texts, one transaction each; returns seconds taken."""
    from repairtext.services.outbound import queue_text

    started = time.perf_counter()
    for i in range(first, first + count):
        with ctx.db.transaction() as session:
            shop = session.get(Shop, shop_id)
            queue_text(ctx, session, shop, to=customer_number(i), body=BODY.format(n=i), trigger="bench")
    return time.perf_counter() - started


def add_history(ctx, shop_id: int, count: int) -> float:
    """`count` texts the shop sent in the past (delivered, with provider ids), to other numbers; returns seconds."""
    from sqlalchemy import insert

    started = time.perf_counter()
    sent = ctx.clock.now() - timedelta(days=7)
    for chunk in range(0, count, 10_000):
        with ctx.db.transaction() as session:
            session.execute(insert(Message), [dict(
                shop_id=shop_id, direction="outbound", trigger="history", provider="twilio",
                provider_id=f"SMhistory{i:024d}", from_number=SHOP_NUMBER, to_number=customer_number(500_000 + i),
                body="Fix-It: your repair is in progress.", encoding="GSM-7", segments=1, credits=1,
                status="delivered", send_attempts=1, part=1, parts=1, created_at=sent, updated_at=sent,
            ) for i in range(chunk, min(count, chunk + 10_000))])
    if not ctx.db.is_sqlite:
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE messages"))
    return time.perf_counter() - started


def drain(ctx, concurrency: int) -> tuple[float, int, float]:
    """Returns (seconds, jobs claimed, CPU seconds this process spent: the worker's own cost, which the load
    other processes put on the machine does not change much)."""
    from repairtext.services.worker import Worker

    worker = Worker(ctx, name=f"bench-{concurrency}", concurrency=concurrency)
    cpu = time.process_time()
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < RUN_LIMIT:
        claimed = worker.drain(max_rounds=20)
        done += claimed
        if not claimed:
            break
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    worker.close()
    return elapsed, done, cpu


def sent_count(ctx, shop_id: int) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.shop_id == shop_id, Message.provider_id.is_not(None), Message.status == "accepted"))


def delivered_count(ctx, shop_id: int) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.shop_id == shop_id, Message.status == "delivered"))


def ceiling(simulator_url: str, concurrency: int, count: int) -> float:
    """Raw POSTs of the form TwilioProvider sends, from `concurrency` threads on one pooled client configured
    like Context.http; returns requests/s."""
    client = httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), limits=httpx.Limits(max_connections=50))
    url = f"{simulator_url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    per_thread = count // concurrency
    failures = []

    def run(t: int) -> None:
        for i in range(per_thread):
            n = 900000 + t * per_thread + i
            form = {"To": customer_number(n), "From": SHOP_NUMBER, "Body": BODY.format(n=n),
                    "StatusCallback": "http://127.0.0.1:9/webhooks/twilio/status"}
            response = client.post(url, data=form, auth=(TWILIO_SID, TWILIO_TOKEN))
            if response.status_code != 201:
                failures.append(response.status_code)
            else:
                response.json()["sid"]  # parsed, as the provider adapter does

    client.post(url, data={"To": customer_number(1), "From": SHOP_NUMBER, "Body": "warm"},
                auth=(TWILIO_SID, TWILIO_TOKEN)).raise_for_status()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, range(concurrency)))
    elapsed = time.perf_counter() - started
    client.close()
    if failures:
        raise RuntimeError(f"{len(failures)} baseline sends failed: {failures[:5]}")
    return per_thread * concurrency / elapsed


def verdict(rate: float) -> str:
    word = "PASS" if rate >= TARGET else "MISS"
    return f"{word} {rate:,.0f} texts/s {'>=' if rate >= TARGET else '<'} {TARGET:,.0f} ({rate / TARGET:.2f}x target)"


def one_run(ctx, shop_id: int, first: int, texts: int, concurrency: int, simulator_url: str) -> dict:
    before = sent_count(ctx, shop_id)
    enqueue_s = enqueue(ctx, shop_id, first, texts)
    drain_s, _, cpu_s = drain(ctx, concurrency)
    sent = sent_count(ctx, shop_id) - before
    roof = ceiling(simulator_url, concurrency, texts)
    return dict(concurrency=concurrency, enqueue=texts / enqueue_s, send=sent / drain_s,
                e2e=sent / (enqueue_s + drain_s), ceiling=roof, sent=sent, texts=texts,
                cpu_ms=cpu_s / max(sent, 1) * 1000)


def print_row(label: str, row: dict) -> None:
    note = "" if row["sent"] == row["texts"] else f"  (only {row['sent']} of {row['texts']} within {RUN_LIMIT:.0f}s)"
    print(f"{label:>7} {row['enqueue']:>10,.0f} {row['send']:>9,.0f} {row['e2e']:>8,.0f} {row['ceiling']:>10,.0f} "
          f"{row['send'] / row['ceiling']:>11.0%} {row['cpu_ms']:>11.2f} {row['sent']:>7,}{note}")


def run_database(kind: str, simulator_url: str, texts: int, levels: list[int], history: int,
                 callbacks: bool) -> dict:
    print(f"\n== {kind}: {texts:,} texts per run (a Big Chain shop on the built-in Twilio account, one credit a "
          f"text), simulator in its own process, auto callbacks off ==")
    best = {}
    with bench_database(kind, "outbound") as url:
        ctx = build_context(settings_for(url, simulator_url))
        try:
            shop_id = make_shop(ctx, texts * (len(levels) + 2) + 200)
            # Warm up: connections, statement caches, the simulator's first requests.
            enqueue(ctx, shop_id, 0, 50)
            drain(ctx, 8)
            print(f"{'threads':>7} {'enqueue/s':>10} {'send/s':>9} {'e2e/s':>8} {'ceiling/s':>10} "
                  f"{'send/ceiling':>12} {'cpu ms/text':>11} {'sent':>7}")
            first = 100
            for concurrency in levels:
                row = one_run(ctx, shop_id, first, texts, concurrency, simulator_url)
                first += texts
                print_row(str(concurrency), row)
                if not best or row["send"] > best["send"]:
                    best = row
            if callbacks:
                best["callbacks"] = run_with_callbacks(url, shop_id, texts, best["concurrency"], first)
            if history:
                # The shop's past texts: a send's cost must not grow with them.
                load_s = add_history(ctx, shop_id, history)
                row = one_run(ctx, shop_id, first, max(texts // 5, 100), best["concurrency"], simulator_url)
                first += texts
                print(f"then {history:,} earlier texts added to the shop ({load_s:.1f}s), "
                      f"{best['concurrency']} threads again:")
                print_row(str(best["concurrency"]), row)
                best["history"] = row
        finally:
            ctx.close()
    print(f"{kind}: send  {verdict(best['send'])} at {best['concurrency']} threads; "
          f"{best['send'] / best['ceiling']:.0%} of the {best['ceiling']:,.0f} req/s loopback ceiling")
    print(f"{kind}: e2e   {verdict(best['e2e'])} (enqueue {best['enqueue']:,.0f}/s single-threaded, then send)")
    if history:
        slower = best["send"] / best["history"]["send"]
        print(f"{kind}: with {history:,} earlier texts in the shop: {best['history']['send']:,.0f} texts/s "
              f"({slower:.1f}x slower)")
    return best


def run_with_callbacks(url: str, shop_id: int, texts: int, concurrency: int, first: int) -> dict:
    """The same send with the simulator calling back `sent` and `delivered` to our app in a third process."""
    with child(__file__, "--serve-simulator", "--callbacks") as (sim_url, _), \
            child(__file__, "--serve-app", url, sim_url) as (app_url, _):
        cb_ctx = build_context(settings_for(url, sim_url, app_url))
        try:
            before = delivered_count(cb_ctx, shop_id)
            enqueue_s = enqueue(cb_ctx, shop_id, first, texts)
            started = time.perf_counter()
            drain_s, _, _ = drain(cb_ctx, concurrency)
            while delivered_count(cb_ctx, shop_id) - before < texts and time.perf_counter() - started < RUN_LIMIT:
                time.sleep(0.05)
            all_delivered_s = time.perf_counter() - started
            delivered = delivered_count(cb_ctx, shop_id) - before
        finally:
            cb_ctx.close()
    rate, delivered_rate = texts / drain_s, delivered / all_delivered_s
    print(f"  with callbacks on ({concurrency} threads; app in a third process): send {rate:,.0f} texts/s, "
          f"{delivered:,}/{texts:,} delivered after {all_delivered_s:.1f}s = {delivered_rate:,.0f} texts/s "
          f"queued-to-delivered (enqueue {texts / enqueue_s:,.0f}/s)")
    return dict(send=rate, delivered=delivered_rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--texts", type=int, default=1500, help="texts per run (default 1500)")
    parser.add_argument("--history", type=int, default=100_000,
                        help="earlier texts added to the shop before a last run (default 100000; 0: skip)")
    parser.add_argument("--concurrency", default="8,16,32", help="worker threads to try (default 8,16,32)")
    parser.add_argument("--callbacks", action="store_true", help="also run once with status callbacks on")
    parser.add_argument("--shipped-simulator", action="store_true",
                        help="serve the simulator through SimulatorServer as shipped (its sockets lack TCP_NODELAY)")
    parser.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-app", nargs=2, metavar=("DATABASE_URL", "SIMULATOR_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.callbacks, args.shipped_simulator)
        return 0
    if args.serve_app:
        serve_app(*args.serve_app)
        return 0
    levels = [int(c) for c in args.concurrency.split(",")]
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"outbound_throughput: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}, "
          f"target {TARGET:,.0f} texts/s")
    results = {}
    shipped = ["--shipped-simulator"] if args.shipped_simulator else []
    with child(__file__, "--serve-simulator", *shipped) as (simulator_url, _):
        for kind in kinds:
            results[kind] = run_database(kind, simulator_url, args.texts, levels, args.history,
                                         args.callbacks)
    print("\nsummary")
    for kind, best in results.items():
        print(f"  {kind:<10} send  {verdict(best['send'])}")
        print(f"  {kind:<10} e2e   {verdict(best['e2e'])}")
    emit("outbound_throughput", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

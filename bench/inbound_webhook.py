"""The Twilio inbound webhook against a bare Starlette handler, same server, same database, same load.

Target (the issue): "the Twilio inbound webhook (signature check, dedupe, routing, comment stored) at least half
the throughput of a bare Starlette handler that parses the same form and does one insert into the same database,
measured in the same run on SQLite and PostgreSQL".

  ours  `create_app(ctx, inline_worker=False)`, POST /webhooks/twilio/inbound: form parsed, X-Twilio-Signature
        checked against public_url + path, `do_receive` in the thread pool (dedupe by MessageSid, shop by To,
        customer by From, routing, the message row, the customer's comment, the ticket set to Customer Reply);
  bare  a Starlette app with the same route that awaits `request.form()` and inserts one row (MessageSid unique,
        From, To, Body, time) through `Database(url).engine` in the thread pool, as ours does its work.

Each is served by uvicorn (h11, one process, the same settings) in a process of its own on loopback; this process
is the client: `--connections` keep-alive connections on asyncio sending pre-built requests (the exact form the
simulator posts for an inbound text, a unique MessageSid each, validly signed), so the client costs little CPU
next to either server. Every sender is a customer with one open ticket, so every reply is routed and stored as a
comment (checked after the run). The two servers alternate for `--rounds` rounds; the best round of each counts.
Each server's CPU time per request is printed too (read from /proc): the machine's other load moves it less than
req/s. Figures are printed, never asserted.

    .venv/bin/python bench/inbound_webhook.py [--db sqlite|postgresql|both] [--requests 3000] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import (  # noqa: E402
    Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, func, insert, select, text,
)

from repairtext.adapters.providers.twilio_signature import compute_signature  # noqa: E402
from repairtext.config import Settings  # noqa: E402

from _support import bench_database, child, loopback_socket  # noqa: E402

TARGET_RATIO = 0.5
TWILIO_SID = "AC" + "be" * 16
TWILIO_TOKEN = "bench-auth-token-" + "b" * 16
SHOP_NUMBER = "+12065550100"
PATH = "/webhooks/twilio/inbound"
CUSTOMERS = 2000
WARMUP = 200
RUN_LIMIT = 60.0  # seconds: a round slower than this is cut short (bounded in time)
BODIES = ("Thanks! I can come by at 5 today.", "Is it ready yet?", "Great, see you tomorrow morning",
          "How much will the battery cost?", "ok")

bare_metadata = MetaData()
bare_table = Table(
    "bench_bare_inbound", bare_metadata,
    Column("id", Integer, primary_key=True),
    Column("message_sid", String(64), nullable=False, unique=True),
    Column("from_number", String(20), nullable=False),
    Column("to_number", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


# --- servers (child processes) ----------------------------------------------------------------------------


def settings_for(database_url: str, public_url: str) -> Settings:
    return Settings.from_env(
        env={}, database_url=database_url, blob_dir=tempfile.gettempdir() + "/repairtext-bench-blobs",
        public_url=public_url, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_api_base="http://127.0.0.1:9", flowroute_api_base="http://127.0.0.1:9", worker="off",
        secret_key="bench",
    )


def bare_app(database_url: str):
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from starlette.routing import Route

    from repairtext.adapters.db.engine import Database

    db = Database(database_url)
    twiml = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

    def store(form: dict) -> None:
        with db.engine.begin() as conn:
            conn.execute(insert(bare_table).values(
                message_sid=form["MessageSid"], from_number=form["From"], to_number=form["To"], body=form["Body"],
                created_at=datetime.now(timezone.utc).replace(tzinfo=None)))

    async def inbound(request):
        form = await request.form()
        await run_in_threadpool(store, dict(form))
        return Response(twiml, media_type="text/xml")

    return Starlette(routes=[Route(PATH, inbound, methods=["POST"])])


def serve(which: str, database_url: str) -> None:
    """Child process: serve `ours` or `bare` on a free loopback port; print its URL; serve until stdin closes."""
    import uvicorn

    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ctx = None
    if which == "ours":
        from repairtext.bootstrap import build_context
        from repairtext.entrypoints.app import create_app

        ctx = build_context(settings_for(database_url, url))
        app = create_app(ctx, inline_worker=False)
    else:
        app = bare_app(database_url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    print(url, flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(timeout=10)
    if ctx is not None:
        ctx.close()


# --- database ----------------------------------------------------------------------------------------------


def customer_number(i: int) -> str:
    return f"+1312{2000000 + i:07d}"


def fill(database_url: str) -> int:
    """A shop on the built-in Twilio account with CUSTOMERS customers, each with one mobile and one open ticket."""
    from repairtext.adapters.db.models import Customer, CustomerPhone, Shop, Ticket
    from repairtext.bootstrap import build_context
    from repairtext.services.shops import do_create_shop

    ctx = build_context(settings_for(database_url, "http://127.0.0.1:9"))
    try:
        shop_id = do_create_shop(ctx, name="Bench Phone Repair", plan="big_chain", numbers=[SHOP_NUMBER],
                                 time_zone="America/Chicago").shop.id
        now = ctx.clock.now()
        with ctx.db.transaction() as session:
            session.execute(insert(Customer), [dict(id=i + 1, shop_id=shop_id, name=f"Customer {i}", sms_enabled=True,
                                                    created_at=now) for i in range(CUSTOMERS)])
            session.execute(insert(CustomerPhone), [
                dict(id=i + 1, shop_id=shop_id, customer_id=i + 1, e164=customer_number(i), type="mobile")
                for i in range(CUSTOMERS)])
            session.execute(insert(Ticket), [
                dict(id=i + 1, shop_id=shop_id, customer_id=i + 1, number=i + 1, subject="Cracked screen",
                     problem="Dropped it", status="In Progress", portal_token=secrets.token_urlsafe(24),
                     created_at=now, updated_at=now)
                for i in range(CUSTOMERS)])
            session.get(Shop, shop_id).next_ticket_number = CUSTOMERS + 1
        if not ctx.db.is_sqlite:
            with ctx.db.engine.begin() as conn:
                for table in ("customers", "customer_phones", "tickets"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {CUSTOMERS})"))
        bare_metadata.create_all(ctx.db.engine)
    finally:
        ctx.close()
    return shop_id


def counts(database_url: str) -> tuple[int, int, int]:
    """(customer comments, routed inbound messages, bare rows)."""
    from repairtext.adapters.db.models import Comment, Message

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            comments = conn.scalar(select(func.count()).select_from(Comment).where(Comment.author == "customer"))
            routed = conn.scalar(select(func.count()).select_from(Message).where(
                Message.direction == "inbound", Message.inbox_state == "routed"))
            bare = conn.scalar(select(func.count()).select_from(bare_table))
    finally:
        engine.dispose()
    return comments, routed, bare


# --- the client --------------------------------------------------------------------------------------------


def requests_for(base_url: str, count: int) -> list[bytes]:
    """Complete HTTP/1.1 requests: the form Twilio posts for an inbound text, signed for base_url + PATH."""
    from repairtext.simulator.twilio_wire import inbound_params

    host = base_url.split("//", 1)[1]
    built = []
    for i in range(count):
        sid = "SM" + secrets.token_hex(16)
        body = BODIES[i % len(BODIES)]
        params = inbound_params(message_sid=sid, account_sid=TWILIO_SID, from_=customer_number(i % CUSTOMERS),
                                to=SHOP_NUMBER, body=body, media=[], from_country="US")
        signature = compute_signature(TWILIO_TOKEN, base_url + PATH, params)
        payload = urlencode(params).encode()
        head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        built.append(head + payload)
    return built


async def _connection(port: int, queue: list[bytes], statuses: list[int], deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while queue and time.perf_counter() < deadline:
            writer.write(queue.pop())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses.append(status)
    finally:
        writer.close()


async def _drive(port: int, built: list[bytes], connections: int) -> tuple[float, list[int]]:
    queue = list(reversed(built))
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, statuses, started + RUN_LIMIT) for _ in range(connections)))
    return time.perf_counter() - started, statuses


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(base_url: str, pid: int, count: int, connections: int) -> tuple[float, int, int, float]:
    """Send `count` fresh signed webhooks to the server `pid`; returns (requests/s, answered, failures, server CPU
    ms per request: its own cost, which the load other processes put on the machine does not change much)."""
    port = int(base_url.rsplit(":", 1)[1])
    asyncio.run(_drive(port, requests_for(base_url, WARMUP), connections))
    built = requests_for(base_url, count)
    cpu = cpu_seconds(pid)
    elapsed, statuses = asyncio.run(_drive(port, built, connections))
    cpu = cpu_seconds(pid) - cpu
    failures = sum(1 for s in statuses if s != 200)
    return len(statuses) / elapsed, len(statuses), failures, cpu / max(len(statuses), 1) * 1000


# --- the run -----------------------------------------------------------------------------------------------


def verdict(ratio: float, ours: float, bare: float) -> str:
    word = "PASS" if ratio >= TARGET_RATIO else "MISS"
    return (f"{word} {ours:,.0f} req/s is {ratio:.2f}x the bare {bare:,.0f} req/s "
            f"({'>=' if ratio >= TARGET_RATIO else '<'} {TARGET_RATIO}x)")


def run_database(kind: str, count: int, connections: int, rounds: int) -> dict:
    print(f"\n== {kind}: {count:,} signed webhooks per round from {CUSTOMERS:,} customers with one open ticket, "
          f"{connections} keep-alive connections ==")
    best = {"ours": 0.0, "bare": 0.0}
    with bench_database(kind, "inbound") as url:
        fill(url)
        print(f"{'round':>5} {'server':<6} {'req/s':>8} {'server cpu ms/req':>17} {'answered':>9} {'non-200':>8}")
        cpu = {"ours": [], "bare": []}
        for r in range(1, rounds + 1):
            for which in ("bare", "ours"):
                with child(__file__, "--serve", which, url) as (base_url, pid):
                    rate, answered, failures, cpu_ms = drive(base_url, pid, count, connections)
                print(f"{r:>5} {which:<6} {rate:>8,.0f} {cpu_ms:>17.2f} {answered:>9,} {failures:>8,}")
                best[which] = max(best[which], rate)
                cpu[which].append(cpu_ms)
        comments, routed, bare_rows = counts(url)
    expected = rounds * (count + WARMUP)
    print(f"stored: {comments:,} customer comments and {routed:,} routed messages (ours), {bare_rows:,} rows (bare); "
          f"expected {expected:,} each")
    ratio = best["ours"] / best["bare"]
    print(f"{kind}: {verdict(ratio, best['ours'], best['bare'])}")
    print(f"{kind}: server CPU per request: ours {min(cpu['ours']):.2f} ms, bare {min(cpu['bare']):.2f} ms "
          f"({min(cpu['bare']) / min(cpu['ours']):.2f}x)")
    return dict(best, ratio=ratio)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=3000, help="timed webhooks per server per round")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--rounds", type=int, default=2, help="bare/ours alternations; the best of each counts")
    parser.add_argument("--serve", nargs=2, metavar=("ours|bare", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"inbound_webhook: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}, "
          f"target ours >= {TARGET_RATIO}x bare")
    results = {kind: run_database(kind, args.requests, args.connections, args.rounds) for kind in kinds}
    print("\nsummary")
    for kind, r in results.items():
        print(f"  {kind:<10} {verdict(r['ratio'], r['ours'], r['bare'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Live events under load: 200 open `GET /api/v1/events` streams while customers' replies pour in.

One real server process (`create_app` under uvicorn, the default mode: worker inline) serves SHOPS shops; a
listener process holds STREAMS server-sent event streams on it, spread evenly over the shops and authenticated
by each shop's API key, reading them as an EventSource would (reconnecting with Last-Event-ID if cut off). This
process posts customers' replies to the Twilio inbound webhook, signed, over `--connections` keep-alive
connections; each reply goes to a ticket of its own, so every event (message.received, comment.created,
ticket.updated) names the reply it came from.

Figures, per database:
  events/s        events delivered across all streams, from the first webhook sent to the last event read;
  latency         from the client holding a webhook's response to a stream reading an event of that reply
                  (p50, p99, over every stream; negative when the event beat the HTTP response), flat out and
                  in a steady phase of PACED replies at `--paced` a second (a queue in front of the first, none
                  in front of the second);
  webhooks/s      with the streams open and with none, measured interleaved in the same run (rounds, order
                  rotated each round; medians): their ratio is what the streams cost the webhooks;
  server cpu      ms of the server process's CPU per webhook, with and without the streams (moves less than
                  req/s with other load on the machine);
  missed          events a stream never read (expected: the events table's rows for its shop in that phase).

Three processes, so neither client shares the GIL with the server. Figures are printed, never asserted; the last
line is machine-readable for run_all.py.

    .venv/bin/python bench/events.py [--db sqlite|postgresql|both] [--webhooks 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import bench_database, child, emit, loopback_socket  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from repairtext.adapters.providers.twilio_signature import compute_signature  # noqa: E402
from repairtext.config import Settings  # noqa: E402

TWILIO_SID = "AC" + "ce" * 16
TWILIO_TOKEN = "bench-events-token-" + "e" * 16
PATH = "/webhooks/twilio/inbound"
SHOPS = 5
STREAMS = 200  # 40 a shop: under the API's 50 streams a shop
WARMUP = 50
PACED = 100  # replies in the steady phase (at --paced a second)
RUN_LIMIT = 60.0      # seconds: a phase's webhooks are cut short after this (bounded in time)
DRAIN_LIMIT = 15.0    # seconds the listener waits for the last events after the webhooks
EVENT = re.compile(rb"id: (\d+)\nevent: ([\w.]+)\ndata: (\{[^\n]*\})\n\n")


def shop_number(s: int) -> str:
    return f"+1206555{100 + s:04d}"


def customer_number(i: int) -> str:
    return f"+1415{2000000 + i:07d}"


def settings_for(database_url: str, public_url: str) -> Settings:
    return Settings.from_env(
        env={}, database_url=database_url, blob_dir=tempfile.gettempdir() + "/repairtext-bench-blobs",
        public_url=public_url, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_api_base="http://127.0.0.1:9", flowroute_api_base="http://127.0.0.1:9", worker="inline",
        secret_key="bench-events-secret-key-of-32-bytes",
    )


# --- the server (child process) ----------------------------------------------------------------------------


def serve(database_url: str) -> None:
    """Serve the app on a free loopback port; print its URL; serve until stdin closes."""
    import uvicorn

    from repairtext.bootstrap import build_context
    from repairtext.entrypoints.app import create_app

    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ctx = build_context(settings_for(database_url, url))
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    print(url, flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(timeout=10)
    ctx.close()


# --- the listener (child process) --------------------------------------------------------------------------


class Stream:
    """One EventSource stand-in: what it read and when (parsed after the phase, to keep the reading cheap)."""

    def __init__(self, shop: int, key: str):
        self.shop, self.key = shop, key
        self.reads: list[tuple[float, bytes]] = []
        self.seen = 0       # events counted while reading (a byte count, cheap), for knowing when to stop
        self.cuts = 0       # times the server ended the stream and it reconnected
        self.last_id: str | None = None


async def _open(port: int, stream: Stream) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    resume = f"Last-Event-ID: {stream.last_id}\r\n" if stream.last_id else ""
    writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                  f"Authorization: Bearer {stream.key}\r\n{resume}\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the event stream answered {head.splitlines()[0]!r}")
    await reader.readuntil(b"retry: 2000\n\n")  # subscribed: the server sends it after subscribing
    return reader, writer


async def _follow(port: int, stream: Stream, ready: asyncio.Event, stop: asyncio.Event) -> None:
    reader, writer = await _open(port, stream)
    ready.set()
    while not stop.is_set():
        chunk = await reader.read(65536)
        now = time.time()
        if not chunk:  # cut off (a full queue): resume from the last id read, as EventSource does
            writer.close()
            ids = re.findall(rb"\nid: (\d+)\n|^id: (\d+)\n", b"".join(c for _, c in stream.reads[-50:]))
            found = [a or b for a, b in ids]
            stream.last_id = found[-1].decode() if found else stream.last_id
            stream.cuts += 1
            reader, writer = await _open(port, stream)
            continue
        stream.reads.append((now, chunk))
        stream.seen += chunk.count(b"\nevent: ")
    writer.close()


def parse(stream: Stream) -> list[tuple[float, int, str, int | None]]:
    """(arrival time, event id, kind, ticket id) of every event the stream read, chunked framing and all."""
    found, buffer = [], b""
    for at, chunk in stream.reads:
        buffer += chunk
        end = 0
        for match in EVENT.finditer(buffer):
            data = json.loads(match.group(3))
            found.append((at, int(match.group(1)), match.group(2).decode(), data.get("ticket_id")))
            end = match.end()
        buffer = buffer[end:]
    return found


async def _listen(base_url: str, keys: list[str]) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    streams = [Stream(i % len(keys), keys[i % len(keys)]) for i in range(STREAMS)]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in streams]
    tasks = [asyncio.create_task(_follow(port, s, r, stop)) for s, r in zip(streams, readies, strict=True)]
    for r in readies:
        await r.wait()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)  # "expect <events a stream of shop s should read>…"
    expected = [int(n) for n in line.split()[1:]]
    deadline = time.monotonic() + DRAIN_LIMIT
    while time.monotonic() < deadline and any(s.seen < expected[s.shop] for s in streams):
        await asyncio.sleep(0.02)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out = [{"shop": s.shop, "cuts": s.cuts, "events": parse(s)} for s in streams]
    print(json.dumps(out), flush=True)


@contextmanager
def listener(base_url: str, keys: list[str]):
    """The listener process with its streams open; yields (send the expectation, read its findings)."""
    proc = subprocess.Popen([sys.executable, __file__, "--listen", base_url, ",".join(keys)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the listener did not open its streams")

        def finish(expected_per_shop: list[int]) -> list[dict]:
            proc.stdin.write("expect " + " ".join(map(str, expected_per_shop)) + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())

        yield finish
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the database --------------------------------------------------------------------------------------------


def fill(database_url: str, customers: int) -> list[str]:
    """SHOPS shops on the built-in Twilio account, `customers` customers over them each with one open ticket
    (customer i belongs to shop i % SHOPS; ticket id = customer id = i + 1); returns the shops' API keys."""
    from repairtext.adapters.db.models import Customer, CustomerPhone, Shop, Ticket
    from repairtext.bootstrap import build_context
    from repairtext.services.shops import do_create_shop

    ctx = build_context(settings_for(database_url, "http://127.0.0.1:9"))
    try:
        made = [do_create_shop(ctx, name=f"Bench Repair {s}", plan="big_chain", numbers=[shop_number(s)],
                               time_zone="America/Chicago") for s in range(SHOPS)]
        shop_ids = [m.shop.id for m in made]
        now = ctx.clock.now()
        rows = [(i + 1, shop_ids[i % SHOPS]) for i in range(customers)]
        with ctx.db.transaction() as session:
            session.execute(insert(Customer), [dict(id=i, shop_id=s, name=f"Customer {i}", sms_enabled=True,
                                                    created_at=now) for i, s in rows])
            session.execute(insert(CustomerPhone), [dict(id=i, shop_id=s, customer_id=i, e164=customer_number(i - 1),
                                                         type="mobile") for i, s in rows])
            session.execute(insert(Ticket), [
                dict(id=i, shop_id=s, customer_id=i, number=i, subject="Cracked screen", problem="Dropped it",
                     status="In Progress", portal_token=secrets.token_urlsafe(24), created_at=now, updated_at=now,
                     last_activity_at=now)
                for i, s in rows])
            for shop_id in shop_ids:
                session.get(Shop, shop_id).next_ticket_number = customers + 1
        if not ctx.db.is_sqlite:
            with ctx.db.engine.begin() as conn:
                for table in ("customers", "customer_phones", "tickets"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {customers})"))
    finally:
        ctx.close()
    return [m.api_key for m in made]


def events_since(database_url: str, after: int) -> tuple[int, list[int]]:
    """(the newest event id, how many events each shop got after `after`)."""
    from repairtext.adapters.db.models import Event

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            newest = conn.scalar(select(func.max(Event.id))) or 0
            by_shop = dict(conn.execute(select(Event.shop_id, func.count()).where(Event.id > after)
                                        .group_by(Event.shop_id)).all())
            shop_ids = sorted(conn.scalars(text("SELECT id FROM shops")).all())
    finally:
        engine.dispose()
    return newest, [by_shop.get(s, 0) for s in shop_ids]


# --- the webhooks --------------------------------------------------------------------------------------------


def webhooks_for(base_url: str, customers: range) -> list[tuple[int, bytes]]:
    """(ticket id, a complete signed HTTP/1.1 request: the form Twilio posts for customer i's reply)."""
    from repairtext.simulator.twilio_wire import inbound_params

    host = base_url.split("//", 1)[1]
    built = []
    for i in customers:
        params = inbound_params(message_sid="SM" + secrets.token_hex(16), account_sid=TWILIO_SID,
                                from_=customer_number(i), to=shop_number(i % SHOPS), body="Is it ready yet?",
                                media=[], from_country="US")
        payload = urlencode(params).encode()
        head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {compute_signature(TWILIO_TOKEN, base_url + PATH, params)}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        built.append((i + 1, head + payload))
    return built


async def _post_all(port: int, queue: list[tuple[int, bytes]], answered: dict[int, tuple[float, float]],
                    failures: list[int], deadline: float, rate: float | None) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    started = time.perf_counter()
    try:
        while queue and time.perf_counter() < deadline:
            if rate is not None:  # paced: the k-th reply goes at k / rate seconds, however long the last took
                await asyncio.sleep(max(0.0, started + len(answered) / rate - time.perf_counter()))
            ticket_id, request = queue.pop()
            sent = time.time()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            answered[ticket_id] = (sent, time.time())
            if int(head.split(b" ", 2)[1]) != 200:
                failures.append(ticket_id)
    finally:
        writer.close()


def post_webhooks(base_url: str, built: list[tuple[int, bytes]], connections: int, rate: float | None = None):
    """As fast as `connections` connections go, or one connection at `rate` a second; returns (seconds,
    {ticket id: (sent, answered)}, failures)."""
    answered: dict[int, tuple[float, float]] = {}
    failures: list[int] = []
    queue = list(reversed(built))

    async def run() -> float:
        started = time.perf_counter()
        port = int(base_url.rsplit(":", 1)[1])
        await asyncio.gather(*(_post_all(port, queue, answered, failures, started + RUN_LIMIT, rate)
                               for _ in range(1 if rate else connections)))
        return time.perf_counter() - started

    return asyncio.run(run()), answered, failures


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the run -------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def phase(url: str, pid: int, database_url: str, keys: list[str], customers: range, connections: int,
          listening: bool, rate: float | None = None) -> dict:
    built = webhooks_for(url, customers)
    before, _ = events_since(database_url, 0)
    if not listening:
        cpu = cpu_seconds(pid)
        seconds, answered, failures = post_webhooks(url, built, connections, rate)
        cpu = cpu_seconds(pid) - cpu
        return {"webhooks_s": len(answered) / seconds, "cpu_ms": cpu / max(len(answered), 1) * 1000,
                "failures": len(failures)}
    with listener(url, keys) as finish:
        cpu = cpu_seconds(pid)
        seconds, answered, failures = post_webhooks(url, built, connections, rate)
        _, expected = events_since(database_url, before)
        streams = finish(expected)
        cpu = cpu_seconds(pid) - cpu  # includes writing the events still queued once the webhooks were done
    first_sent = min(s for s, _ in answered.values())
    latencies, delivered, missed, last = [], 0, 0, first_sent
    for stream in streams:
        got = [e for e in stream["events"] if e[1] > before]
        delivered += len(got)
        missed += max(0, expected[stream["shop"]] - len({e[1] for e in got}))
        for at, _, _, ticket_id in got:
            last = max(last, at)
            if ticket_id in answered:
                latencies.append((at - answered[ticket_id][1]) * 1000)
    return {"webhooks_s": len(answered) / seconds, "cpu_ms": cpu / max(len(answered), 1) * 1000,
            "failures": len(failures), "events": delivered, "events_s": delivered / max(last - first_sent, 1e-9),
            "latency_ms": latencies, "missed": missed, "cuts": sum(s["cuts"] for s in streams),
            "expected": sum(expected[s["shop"]] for s in streams)}


def run_database(kind: str, webhooks: int, rounds: int, connections: int, paced: float) -> dict:
    customers = WARMUP + 2 * rounds * webhooks + PACED
    print(f"\n== {kind}: {SHOPS} shops, {STREAMS} event streams ({STREAMS // SHOPS} a shop), {webhooks} signed "
          f"replies a phase over {connections} connections, {rounds} rounds of [none, {STREAMS} streams] ==")
    quiet: list[dict] = []
    loud: list[dict] = []
    with bench_database(kind, "events") as database_url:
        keys = fill(database_url, customers)
        with child(__file__, "--serve", database_url) as (url, pid):
            post_webhooks(url, webhooks_for(url, range(WARMUP)), connections)
            print(f"{'round':>5} {'streams':>7} {'webhooks/s':>10} {'cpu ms/hook':>11} {'events/s':>9} "
                  f"{'p50 ms':>7} {'p99 ms':>7} {'missed':>6} {'cuts':>4} {'load':>5}")
            start = WARMUP
            for r in range(rounds):
                for listening in ((False, True) if r % 2 == 0 else (True, False)):
                    got = phase(url, pid, database_url, keys, range(start, start + webhooks), connections, listening)
                    start += webhooks
                    (loud if listening else quiet).append(got)
                    lat = got.get("latency_ms", [])
                    extra = (f"{got['events_s']:>9,.0f} {percentile(lat, 50):>7.1f} {percentile(lat, 99):>7.1f} "
                             f"{got['missed']:>6,} {got['cuts']:>4}" if listening else f"{'':>9} {'':>7} {'':>7} "
                             f"{'':>6} {'':>4}")
                    print(f"{r + 1:>5} {STREAMS if listening else 0:>7} {got['webhooks_s']:>10,.0f} "
                          f"{got['cpu_ms']:>11.2f} {extra} {os.getloadavg()[0]:>5.1f}", flush=True)
            # A steady trickle, as shops really reply: the latency a person sees, without a queue in front.
            steady = phase(url, pid, database_url, keys, range(start, start + PACED), connections, True, paced)
            lat = steady["latency_ms"]
            print(f"paced {STREAMS:>7} {steady['webhooks_s']:>10,.0f} {steady['cpu_ms']:>11.2f} "
                  f"{steady['events_s']:>9,.0f} {percentile(lat, 50):>7.1f} {percentile(lat, 99):>7.1f} "
                  f"{steady['missed']:>6,} {steady['cuts']:>4} {os.getloadavg()[0]:>5.1f}", flush=True)
    every_latency = [x for g in loud for x in g["latency_ms"]]
    per_round = [lo["webhooks_s"] / q["webhooks_s"] for lo, q in zip(loud, quiet, strict=True)]
    result = {
        "streams": STREAMS, "shops": SHOPS, "webhooks_per_phase": webhooks, "rounds": rounds,
        "connections": connections,
        "events_s": round(statistics.median(g["events_s"] for g in loud)),
        "latency_p50_ms": round(percentile(every_latency, 50), 1),
        "latency_p99_ms": round(percentile(every_latency, 99), 1),
        "paced_webhooks_s": paced,
        "paced_latency_p50_ms": round(percentile(steady["latency_ms"], 50), 1),
        "paced_latency_p99_ms": round(percentile(steady["latency_ms"], 99), 1),
        "webhooks_s_no_streams": round(statistics.median(g["webhooks_s"] for g in quiet)),
        f"webhooks_s_{STREAMS}_streams": round(statistics.median(g["webhooks_s"] for g in loud)),
        "webhooks_ratio": round(statistics.median(per_round), 3),
        "server_cpu_ms_no_streams": round(statistics.median(g["cpu_ms"] for g in quiet), 2),
        f"server_cpu_ms_{STREAMS}_streams": round(statistics.median(g["cpu_ms"] for g in loud), 2),
        "events_delivered": sum(g["events"] for g in loud), "events_expected": sum(g["expected"] for g in loud),
        "events_missed": sum(g["missed"] for g in loud + [steady]),
        "streams_cut": sum(g["cuts"] for g in loud + [steady]),
        "webhook_failures": sum(g["failures"] for g in loud + quiet + [steady]),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(f"{kind}: {result['events_s']:,} events/s over {STREAMS} streams; latency from webhook response p50 "
          f"{result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms flat out, p50 "
          f"{result['paced_latency_p50_ms']} ms, p99 {result['paced_latency_p99_ms']} ms at {paced:g} replies/s; "
          f"webhooks {result['webhooks_s_no_streams']:,}/s "
          f"with no streams, {result[f'webhooks_s_{STREAMS}_streams']:,}/s with {STREAMS} "
          f"({result['webhooks_ratio']:.2f}x; rounds {min(per_round):.2f}-{max(per_round):.2f}x); server CPU "
          f"{result['server_cpu_ms_no_streams']} -> {result[f'server_cpu_ms_{STREAMS}_streams']} ms a webhook; "
          f"{result['events_missed']} of {result['events_expected']:,} events missed, {result['streams_cut']} "
          f"streams cut, {result['webhook_failures']} webhook failures")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--webhooks", type=int, default=200, help="signed replies a phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of [no streams, streams]; medians count")
    parser.add_argument("--connections", type=int, default=8, help="webhook keep-alive connections")
    parser.add_argument("--paced", type=float, default=20.0, help="replies a second in the steady phase")
    parser.add_argument("--serve", nargs=1, metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--listen", nargs=2, metavar=("BASE_URL", "KEYS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0])
        return 0
    if args.listen:
        asyncio.run(_listen(args.listen[0], args.listen[1].split(",")))
        return 0
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"events: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}")
    results = {kind: run_database(kind, args.webhooks, args.rounds, args.connections, args.paced) for kind in kinds}
    print("\nsummary")
    for kind, r in results.items():
        print(f"  {kind:<10} {r['events_s']:,} events/s to {STREAMS} streams, p50 {r['latency_p50_ms']} ms, "
              f"p99 {r['latency_p99_ms']} ms (at {r['paced_webhooks_s']:g}/s: p50 {r['paced_latency_p50_ms']} ms, "
              f"p99 {r['paced_latency_p99_ms']} ms); webhooks {r['webhooks_ratio']:.2f}x with the streams open "
              f"({r[f'webhooks_s_{STREAMS}_streams']:,} vs {r['webhooks_s_no_streams']:,}/s); "
              f"{r['events_missed']} events missed")
    emit("events", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

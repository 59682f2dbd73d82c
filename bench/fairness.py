"""Fairness between shops: how long one shop's single text waits while another shop does its worst.

One worker process's Worker (run_forever, as `repairtext worker` runs it) against the simulator's Twilio API in a
process of its own. For each database this prints:

  backlog   shop A queues N texts (default 5,000) and the worker is busy with them; shop B then queues one text:
            seconds until the provider has B's text, and how many of A's were still waiting then;
  media     shop A receives 16 MMS whose 10 media URLs answer 404, one whose 10 answer 429 with Retry-After: 60,
            and 4 whose media hang for 10 s; shop C then queues one text: seconds until the provider has it, and
            how often the 429 host was asked (once a job: the wait is re-queued, not slept on in a thread).

Figures are printed, never asserted (tests/security/test_fairness.py asserts the bounds).

    .venv/bin/python bench/fairness.py [--db sqlite|postgresql|both] [--backlog 5000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import outbound_throughput as outbound  # noqa: E402
from _support import bench_database, child  # noqa: E402

from repairtext.adapters.db.models import Shop  # noqa: E402
from repairtext.bootstrap import build_context  # noqa: E402
from repairtext.services.inbound import InboundText, do_receive  # noqa: E402
from repairtext.services.outbound import queue_text  # noqa: E402

HANG = 10.0  # seconds a hanging media URL holds its request


class MediaHost:
    """/gone/… answers 404, /busy/… 429 with Retry-After: 60, /hang/… nothing for HANG seconds."""

    def __init__(self) -> None:
        self.busy_requests = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/hang/"):
                    time.sleep(HANG)
                status = 429 if self.path.startswith("/busy/") else 404
                host.busy_requests += status == 429
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "60")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


def make_shop(ctx, name: str, number: str, credits_needed: int) -> int:
    from repairtext.services.credits import do_buy_addon
    from repairtext.services.shops import do_create_shop

    started = (ctx.clock.now() - timedelta(days=60)).date()  # add-on packs are on sale 30 days after the start
    shop = do_create_shop(ctx, name=name, plan="big_chain", numbers=[number], time_zone="America/Chicago",
                          started=started).shop
    for _ in range(credits_needed // ctx.catalog.addon.credits):
        do_buy_addon(ctx, shop.id)
    return shop.id


def queue(ctx, shop_id: int, numbers: list[str]) -> None:
    with ctx.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        for n, number in enumerate(numbers):
            queue_text(ctx, session, shop, to=number, body=f"Your repair #{n} is ready.", trigger="bench")
    ctx.notify_work()


def seconds_until_sent(simulator_url: str, number: str, limit: float = 120.0) -> float:
    """Polls Twilio's message list filtered by To, as a client of the provider would."""
    url = f"{simulator_url}/2010-04-01/Accounts/{outbound.TWILIO_SID}/Messages.json"
    started = time.monotonic()
    with httpx.Client(auth=(outbound.TWILIO_SID, outbound.TWILIO_TOKEN), timeout=10) as client:
        while time.monotonic() - started < limit:
            if client.get(url, params={"To": number}).json()["messages"]:
                return time.monotonic() - started
            time.sleep(0.01)
    return float("inf")


def sent_so_far(simulator_url: str) -> int:
    return len(httpx.get(f"{simulator_url}/_sim/messages", params={"provider": "twilio"}, timeout=30).json())


def mms(ctx, shop_number: str, sender: str, urls: list[str], n: int) -> None:
    do_receive(ctx, InboundText(provider="twilio", provider_id=f"MM{n:032x}", from_number=sender,
                                to_number=shop_number, body="photos",
                                media=[{"url": u, "content_type": "image/jpeg"} for u in urls]))


def run_database(kind: str, simulator_url: str, backlog: int, concurrency: int) -> None:
    from repairtext.services.worker import Worker

    httpx.post(f"{simulator_url}/_sim/reset").raise_for_status()
    host = MediaHost()
    with bench_database(kind, "fairness") as url:
        settings = dataclasses.replace(outbound.settings_for(url, simulator_url), media_hosts=("127.0.0.1",))
        ctx = build_context(settings)
        worker = Worker(ctx, name="bench-fairness", concurrency=concurrency)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run_forever, args=(stop,), kwargs={"idle_wait": 0.05}, daemon=True)
        try:
            shop_a = make_shop(ctx, "Shop A", "+12065550101", backlog + 100)
            shop_b = make_shop(ctx, "Shop B", "+12065550102", 10)
            shop_c = make_shop(ctx, "Shop C", "+12065550103", 10)
            started = time.perf_counter()
            queue(ctx, shop_a, [outbound.customer_number(i) for i in range(backlog)])
            queued_s = time.perf_counter() - started
            thread.start()
            time.sleep(1.0)  # busy with A's backlog
            queue(ctx, shop_b, ["+13125559001"])
            waited = seconds_until_sent(simulator_url, "+13125559001")
            behind = backlog - sent_so_far(simulator_url)
            print(f"{kind:<10} backlog  shop B's one text reached the provider after {waited:.2f} s, with {behind:,} "
                  f"of shop A's {backlog:,} texts still to send (queued in {queued_s:.1f} s)")

            for n, urls in enumerate(([host.url(f"/busy/{i}.jpg") for i in range(10)],
                                      *([host.url(f"/gone/{m}/{i}.jpg") for i in range(10)] for m in range(16)),
                                      *([host.url(f"/hang/{m}.jpg")] for m in range(4))), start=1):
                mms(ctx, "+12065550101", "+13125558000", urls, n)
            time.sleep(1.0)  # the media lane is busy with A's downloads
            queue(ctx, shop_c, ["+13125559002"])
            waited = seconds_until_sent(simulator_url, "+13125559002")
            print(f"{kind:<10} media    shop C's one text reached the provider after {waited:.2f} s, while shop A's "
                  f"21 MMS (404 / 429 Retry-After 60 / hanging media) were fetched; the 429 host was asked "
                  f"{host.busy_requests} time(s)")
        finally:
            stop.set()
            ctx.work_queued.set()
            if thread.is_alive():
                thread.join(timeout=60)
            ctx.close()
            host.httpd.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--backlog", type=int, default=5000, help="texts shop A queues (default 5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="worker threads (default 16)")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"fairness: {os.cpu_count()} CPUs, load average {load}, one worker with {args.concurrency} threads")
    with child(outbound.__file__, "--serve-simulator") as (simulator_url, _):
        for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            run_database(kind, simulator_url, args.backlog, args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

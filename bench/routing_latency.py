"""Routing an inbound reply in a shop of 1,000 to 1,000,000 customers: does it stay flat?

Target (the issue): "routing latency within 2x from 1,000 to 1,000,000 customers in the shop".

One shop grows in steps (`--sizes`, default 1,000 / 10,000 / 100,000 / 1,000,000 customers), loaded in bulk
(SQLite: executemany on the raw connection in one transaction; PostgreSQL: COPY, then ANALYZE, as autovacuum
would). Each customer has one mobile phone and one open ticket; every third also a resolved ticket; every second
was texted about the open ticket once in the last 60 days (so about a quarter of replies follow rule (b), the
recent outbound text, and the rest rule (c), the only open ticket). Indexes are the schema's own:
customer_phones (shop_id, e164), tickets (shop_id, customer_id), messages (shop_id, direction, to_number,
created_at).

At each size, `--replies` replies from customers picked at random (seeded) among all of them are timed:
  receive  `do_receive` end to end on a fresh MessageSid, in one transaction: dedupe, shop by number, customer by
           phone, routing, the message row, the comment, the ticket status (the verdict figure);
  route    `services.inbound._route` alone (the tickets of the customer and the last outbound text to the
           number) for a customer already loaded.
Median and p95 are printed per size, then the ratio largest/smallest. Figures are printed, never asserted.

    .venv/bin/python bench/routing_latency.py [--db sqlite|postgresql|both] [--sizes 1000,10000,100000,1000000]
        [--replies 200]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import bench_database, emit  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from repairtext.adapters.db.models import Customer, Message, Shop  # noqa: E402
from repairtext.bootstrap import build_context  # noqa: E402
from repairtext.config import Settings  # noqa: E402

TARGET_RATIO = 2.0
SHOP_NUMBER = "+12065550100"
WARMUP = 20
LOAD_LIMIT = 240.0  # seconds of loading; a larger size is not started past it (bounded in time)
SEED = 20261127
BODIES = ("Is it ready yet?", "Thanks! I can come by at 5 today.", "How much will the battery cost?", "ok")


def settings_for(database_url: str) -> Settings:
    return Settings.from_env(
        env={}, database_url=database_url, blob_dir=tempfile.gettempdir() + "/repairtext-bench-blobs",
        public_url="http://127.0.0.1:9", twilio_account_sid="AC" + "be" * 16, twilio_auth_token="bench-token",
        twilio_api_base="http://127.0.0.1:9", flowroute_api_base="http://127.0.0.1:9", worker="off",
        secret_key="bench",
    )


def customer_number(i: int) -> str:
    return f"+1206{2000000 + i:07d}"  # 8 million numbers; the shop's own (+12065550100) is far past 1,000,000


# --- bulk loading ------------------------------------------------------------------------------------------


class Rows:
    """The rows for customers [start, stop): plain tuples, columns in the order of COLUMNS."""

    COLUMNS = {
        "customers": ("id", "shop_id", "name", "sms_enabled", "created_at"),
        "customer_phones": ("id", "shop_id", "customer_id", "e164", "type"),
        "tickets": ("id", "shop_id", "customer_id", "number", "subject", "problem", "status", "portal_token",
                    "created_at", "updated_at"),
        # No id: inbound replies are inserted between loads, so the database numbers these.
        "messages": ("shop_id", "direction", "ticket_id", "customer_id", "trigger", "provider", "account", "provider_id",
                     "from_number", "to_number", "body", "encoding", "segments", "credits", "status",
                     "send_attempts", "part", "parts", "created_at", "updated_at"),
    }

    def __init__(self, shop_id: int, now: datetime, sqlite: bool):
        self.shop_id, self.now, self.sqlite = shop_id, now.replace(tzinfo=None), sqlite
        self.rng = random.Random(SEED)

    def stamp(self, moment: datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else moment

    def of(self, table: str, start: int, stop: int):
        shop, now = self.shop_id, self.stamp(self.now)
        yes = 1 if self.sqlite else True
        if table == "customers":
            return ((i + 1, shop, f"Customer {i}", yes, now) for i in range(start, stop))
        if table == "customer_phones":
            return ((i + 1, shop, i + 1, customer_number(i), "mobile") for i in range(start, stop))
        if table == "tickets":
            # Customer i: ticket i + 1 (open); every third customer also ticket 2,000,000 + i + 1 (resolved).
            def tickets():
                for i in range(start, stop):
                    yield (i + 1, shop, i + 1, i + 1, "Cracked screen", "Dropped it", "In Progress",
                           f"bench-portal-{i + 1:012d}", now, now)
                    if i % 3 == 0:
                        yield (2_000_000 + i + 1, shop, i + 1, 2_000_000 + i + 1, "Battery", "", "Resolved",
                               f"bench-portal-{2_000_000 + i + 1:012d}", now, now)
            return tickets()
        if table == "messages":
            def messages():
                for i in range(start + start % 2, stop, 2):  # every second customer, texted 0-60 days ago
                    sent = self.stamp(self.now - timedelta(seconds=self.rng.uniform(0, 60 * 86400)))
                    yield (shop, "outbound", i + 1, i + 1, "status:In Progress", "twilio", "platform",
                           f"SMbench{i + 1:026d}", SHOP_NUMBER, customer_number(i),
                           "Fix-It: your repair is in progress.", "GSM-7", 1, 1, "delivered", 1, 1, 1, sent, sent)
            return messages()
        raise KeyError(table)


def load(ctx, rows: Rows, start: int, stop: int) -> None:
    """Customers [start, stop) with their phones, tickets and outbound texts, in one transaction."""
    raw = ctx.db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        if ctx.db.is_sqlite:
            driver.execute("BEGIN IMMEDIATE")
            for table, columns in Rows.COLUMNS.items():
                marks = ", ".join("?" * len(columns))
                driver.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                   rows.of(table, start, stop))
            driver.execute("COMMIT")
            return
        with driver.cursor() as cursor:
            for table, columns in Rows.COLUMNS.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    buffer = io.StringIO()
                    for n, row in enumerate(rows.of(table, start, stop), 1):
                        buffer.write("\t".join(str(v) for v in row))
                        buffer.write("\n")
                        if n % 50_000 == 0:
                            copy.write(buffer.getvalue())
                            buffer = io.StringIO()
                    copy.write(buffer.getvalue())
            for table in ("customers", "customer_phones", "tickets"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
            # Ticket numbers go up to 2,000,000 + N; the shop's counter must stay ahead of them.
            cursor.execute("UPDATE shops SET next_ticket_number = 3000001 WHERE id = %s", (rows.shop_id,))
        driver.commit()
        with driver.cursor() as cursor:
            driver.autocommit = True
            cursor.execute("ANALYZE customers, customer_phones, tickets, messages")
            driver.autocommit = False
    finally:
        raw.close()


def bump_sqlite_counter(ctx, shop_id: int) -> None:
    with ctx.db.transaction() as session:
        session.get(Shop, shop_id).next_ticket_number = 3_000_001


# --- timing ------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_receive(ctx, senders: list[int]) -> tuple[list[float], dict[str, int]]:
    from repairtext.services.inbound import InboundText, do_receive

    timings, rules = [], {}
    for n, i in enumerate(senders):
        text_in = InboundText(provider="twilio", provider_id="SM" + secrets.token_hex(16),
                              from_number=customer_number(i), to_number=SHOP_NUMBER, body=BODIES[n % len(BODIES)],
                              from_country="US")
        started = time.perf_counter()
        received = do_receive(ctx, text_in)
        timings.append(time.perf_counter() - started)
        with ctx.db.transaction() as session:
            rule = session.scalar(select(Message.routing_rule).where(Message.id == received.message_id))
        rules[rule] = rules.get(rule, 0) + 1
    return timings, rules


def time_route(ctx, shop_id: int, senders: list[int]) -> list[float]:
    """The routing decision alone: the sender's customers and tickets, the last text sent, the rule."""
    from repairtext.domain.routing import route_reply
    from repairtext.services.inbound import last_outbound, senders_tickets

    timings = []
    for i in senders:
        with ctx.db.transaction() as session:
            now = ctx.clock.now()
            started = time.perf_counter()
            ids, tickets = senders_tickets(session, shop_id, customer_number(i))
            route_reply("Is it ready yet?", ids, tickets, last_outbound(session, shop_id, customer_number(i), ids), now)
            timings.append(time.perf_counter() - started)
    return timings


def run_database(kind: str, sizes: list[int], replies: int) -> dict:
    print(f"\n== {kind}: one shop grown to {', '.join(f'{s:,}' for s in sizes)} customers; {replies} replies "
          f"from random customers per size ==")
    print(f"{'customers':>10} {'load s':>7} {'receive p50':>11} {'p95':>7} {'route p50':>9} {'p95':>7}  rules")
    results = {}
    with bench_database(kind, "routing") as url:
        ctx = build_context(settings_for(url))
        try:
            from repairtext.services.shops import do_create_shop

            shop_id = do_create_shop(ctx, name="Bench Phone Repair", plan="big_chain", numbers=[SHOP_NUMBER],
                                     time_zone="America/Chicago").shop.id
            rows = Rows(shop_id, ctx.clock.now(), ctx.db.is_sqlite)
            if ctx.db.is_sqlite:
                bump_sqlite_counter(ctx, shop_id)
            rng = random.Random(SEED)
            loaded, load_total = 0, 0.0
            for size in sizes:
                if load_total > LOAD_LIMIT:
                    print(f"{size:>10,}  not loaded: {load_total:.0f}s of loading already spent "
                          f"(limit {LOAD_LIMIT:.0f}s)")
                    break
                started = time.perf_counter()
                step = 200_000
                for start in range(loaded, size, step):
                    load(ctx, rows, start, min(size, start + step))
                load_s = time.perf_counter() - started
                load_total += load_s
                loaded = size
                time_receive(ctx, [rng.randrange(size) for _ in range(WARMUP)])
                receive, rules = time_receive(ctx, [rng.randrange(size) for _ in range(replies)])
                route = time_route(ctx, shop_id, [rng.randrange(size) for _ in range(replies)])
                figures = dict(receive50=statistics.median(receive) * 1000, receive95=percentile(receive, 0.95) * 1000,
                               route50=statistics.median(route) * 1000, route95=percentile(route, 0.95) * 1000)
                results[size] = figures
                print(f"{size:>10,} {load_s:>7.1f} {figures['receive50']:>9.2f}ms {figures['receive95']:>5.2f}ms "
                      f"{figures['route50']:>7.2f}ms {figures['route95']:>5.2f}ms  "
                      + ", ".join(f"{k} {v}" for k, v in sorted(rules.items(), key=lambda kv: str(kv[0]))))
            with ctx.db.transaction() as session:
                customers = session.scalar(select(func.count()).select_from(Customer))
            print(f"{kind}: {customers:,} customers in the shop at the end")
        finally:
            ctx.close()
    small, large = min(results), max(results)
    summary = {key: results[large][key] / results[small][key] for key in results[small]}
    summary.update(small=small, large=large, figures=results)
    print(f"{kind}: {verdict(summary)}")
    print(f"{kind}: receive p95 {summary['receive95']:.2f}x, route p50 {summary['route50']:.2f}x, "
          f"route p95 {summary['route95']:.2f}x from {small:,} to {large:,}")
    return summary


def verdict(summary: dict) -> str:
    ratio = summary["receive50"]
    word = "PASS" if ratio <= TARGET_RATIO else "MISS"
    small, large = summary["small"], summary["large"]
    partial = "" if large >= 1_000_000 else f" (only up to {large:,} customers)"
    return (f"{word} median receive {summary['figures'][large]['receive50']:.2f}ms at {large:,} is {ratio:.2f}x "
            f"the {summary['figures'][small]['receive50']:.2f}ms at {small:,} "
            f"({'<=' if ratio <= TARGET_RATIO else '>'} {TARGET_RATIO:.0f}x){partial}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="customers in the shop, ascending")
    parser.add_argument("--replies", type=int, default=200, help="timed replies per size")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"routing_latency: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}, "
          f"target largest/smallest <= {TARGET_RATIO:.0f}x")
    results = {kind: run_database(kind, sizes, args.replies) for kind in kinds}
    print("\nsummary")
    for kind, summary in results.items():
        print(f"  {kind:<10} {verdict(summary)}")
    emit("routing_latency", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

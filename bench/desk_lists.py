"""The desk's lists at a shop's real size: server time per page of the ticket list for every kind of query (no
query, status, open/closed, needs reply, a ticket number with or without '#', a subject or a name substring, a
phone number typed four ways and its last four digits, a term too short for trigrams, a deep cursor) and of the
customer list, with 1,000 and then 100,000 tickets (and half as many customers) in one shop, in the same run,
on SQLite and PostgreSQL.

Each figure is a percentile of the service calls a page of /tickets makes (the list, its count, the customers
shown), measured in this process; searches are made as the page makes them, on open tickets (its default). The
growth is the same run's 100,000-ticket p95 over its 1,000-ticket p95. Goal: p95 under 100 ms, not growing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import _support  # noqa: F401  (puts src/ on the path)
from _support import bench_database
from sqlalchemy import insert, select, update

from repairtext.adapters.db.models import Customer, CustomerPhone, Shop, Ticket
from repairtext.bootstrap import build_context
from repairtext.config import Settings
from repairtext.services import desk
from repairtext.services.shops import do_create_shop

STATUSES = ["New", "In Progress", "Waiting for Parts", "Customer Reply", "Ready for Pickup", "Resolved", "Resolved"]
FIRST = ["Ana", "Bo", "Carla", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Milo", "Nia"]
LAST = ["Ruiz", "Chen", "Okafor", "Smith", "Novak", "Haddad", "Kim", "Larsen", "Moreau", "Singh", "Tanaka"]
DEVICES = ["iPhone 14", "Pixel 8", "Galaxy S23", "MacBook Air", "iPad", "ThinkPad", "Switch", "PS5"]
FAULTS = ["cracked screen", "battery swap", "water damage", "no power", "charging port", "keyboard"]
BATCH = 10_000


def fill(ctx, shop_id: int, tickets: int, start: int) -> None:
    """Grow the shop to `tickets` tickets (from `start`), with a customer (and a phone) for every two, in bulk."""
    rng = random.Random(tickets)
    now = datetime.now(UTC)
    with ctx.db.transaction() as session:
        first_customer = session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 0
        customers = [dict(shop_id=shop_id, name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}", sms_enabled=True,
                          created_at=now) for n in range(start // 2, tickets // 2)]
        ids = list(range(first_customer + 1, first_customer + 1 + len(customers)))
        phones = [dict(shop_id=shop_id, customer_id=c, e164=f"+1206{2000000 + c:07d}", type="mobile") for c in ids]
        rows = []
        for n in range(start, tickets):
            at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            rows.append(dict(shop_id=shop_id, customer_id=rng.choice(ids), number=n + 1,
                             subject=f"{rng.choice(DEVICES)} {rng.choice(FAULTS)}", problem="", status=rng.choice(STATUSES),
                             portal_token=f"t{shop_id}x{n}", created_at=at, updated_at=at, last_activity_at=at,
                             needs_reply=rng.random() < 0.03))
        for table, batch in [(Customer, customers), (CustomerPhone, phones), (Ticket, rows)]:
            for at in range(0, len(batch), BATCH):
                session.execute(insert(table), batch[at:at + BATCH])
        session.execute(update(Shop).where(Shop.id == shop_id).values(next_ticket_number=tickets + 1))
    if not ctx.db.is_sqlite:
        # What autovacuum does after a bulk load: statistics for the planner (ANALYZE outside a transaction, or
        # it is rolled back with it).
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE tickets, customers, customer_phones")


def timed(ctx, run, rounds: int) -> tuple[float, float]:
    samples = []
    for n in range(rounds + 2):
        started = time.perf_counter()
        with ctx.db.reading() as session:
            run(session)
        if n >= 2:  # two warm-up rounds
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[int(0.95 * (len(samples) - 1))]


def pages(shop_id: int, deep_cursor: str | None) -> dict:
    def tickets(wanted, cursor=None):
        def run(session):
            page = desk.list_tickets(session, shop_id, wanted, limit=50, cursor=cursor)
            desk.count_tickets(session, shop_id, wanted)
            [t.customer.name for t in page.items]
        return run

    def search(q):
        return tickets(desk.TicketFilter(q=q, open=True))

    # Customer 7's phone is +12062000007 (fill() numbers them by id), written the ways people write it.
    return {
        "open tickets, first page": tickets(desk.TicketFilter(open=True)),
        "all tickets": tickets(desk.TicketFilter()),
        "closed tickets": tickets(desk.TicketFilter(open=False)),
        "status Waiting for Parts": tickets(desk.TicketFilter(status="Waiting for Parts", open=True)),
        "needs reply": tickets(desk.TicketFilter(needs_reply=True)),
        "page 200 by cursor": tickets(desk.TicketFilter(), deep_cursor),
        "search #number ('#777')": search("#777"),
        "search number ('777')": search("777"),
        "search subject ('water damage')": search("water damage"),
        "search subject, all ('screen')": tickets(desk.TicketFilter(q="screen")),
        "search name ('okafor')": search("okafor"),
        "search rare name ('okafor 123')": search("okafor 123"),
        "search nothing ('zzqq')": search("zzqq"),
        "search short ('bo')": search("bo"),
        "search short, rare ('zq')": search("zq"),
        "search needs reply + name": tickets(desk.TicketFilter(q="chen", needs_reply=True)),
        "search phone '(206) 200-0007'": search("(206) 200-0007"),
        "search phone '2062000007'": search("2062000007"),
        "search phone '+1 206 200 0007'": search("+1 206 200 0007"),
        "search phone tail '0007'": search("0007"),
        "customers, search a name": lambda s: desk.list_customers(s, shop_id, "chen", limit=50),
        "customers, search rare name": lambda s: desk.list_customers(s, shop_id, "okafor 123", limit=50),
        "customers, search a phone": lambda s: desk.list_customers(s, shop_id, "206-200-0007", limit=50),
    }


def deep_cursor(ctx, shop_id: int, depth: int) -> str | None:
    cursor = None
    with ctx.db.reading() as session:
        for _ in range(depth):
            cursor = desk.list_tickets(session, shop_id, desk.TicketFilter(), limit=50, cursor=cursor).next_cursor
            if cursor is None:
                break
    return cursor


def run(kind: str, sizes: list[int], rounds: int) -> dict:
    results: dict[str, dict[int, tuple[float, float]]] = {}
    with bench_database(kind, "desk") as url:
        ctx = build_context(Settings.from_env(env={}, database_url=url, secret_key="s" * 32))
        shop = do_create_shop(ctx, name="Busy", plan="big_chain", numbers=["+12065550177"]).shop
        have = 0
        for size in sizes:
            started = time.perf_counter()
            fill(ctx, shop.id, size, have)
            print(f"{kind}: {size:,} tickets, {size // 2:,} customers loaded in {time.perf_counter() - started:.1f} s",
                  flush=True)
            have = size
            cursor = deep_cursor(ctx, shop.id, min(200, size // 50 - 1))
            for name, call in pages(shop.id, cursor).items():
                results.setdefault(name, {})[size] = timed(ctx, call, rounds)
        ctx.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = {}
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        results = run(kind, sizes, args.rounds)
        print(f"\n{kind}: ms per page, p50 / p95 ({args.rounds} rounds), at " + " and ".join(f"{s:,}" for s in sizes)
              + " tickets; growth = p95 ratio")
        for name, by_size in results.items():
            small, large = by_size[sizes[0]][1], by_size[sizes[-1]][1]
            print(f"  {name:34s} " + "   ".join(f"{by_size[s][0]:6.1f} / {by_size[s][1]:6.1f}" for s in sizes)
                  + f"   growth {large / small:5.2f}x")
            figures[f"{kind}: {name}"] = {"p50_ms": {str(s): round(by_size[s][0], 1) for s in sizes},
                                          "p95_ms": {str(s): round(by_size[s][1], 1) for s in sizes},
                                          "growth": round(large / small, 2)}
        worst = max(by_size[sizes[-1]][1] for by_size in results.values())
        verdict = "PASS" if worst < 100 else "MISS"
        print(f"  {verdict} worst p95 at {sizes[-1]:,} tickets: {worst:.1f} ms (goal: under 100 ms)")
    _support.emit("desk_lists", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The desk's lists at a shop's real size: server time per page of the ticket list (most recent activity first,
needs-reply, status, search by name, subject, number and phone, a deep cursor) and of the customer list, with
1,000 and then 100,000 tickets (and half as many customers) in the shop, on SQLite and PostgreSQL.

Each figure is the 95th percentile of the service call that a page or `GET /api/v1/tickets` makes (the list
query, its count, and loading the customers shown), measured in this process; the ratio is the same run's
100,000-ticket p95 over its 1,000-ticket p95 (the goal: under 100 ms and not growing with the shop).
"""

from __future__ import annotations

import argparse
import random
import statistics
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


def fill(ctx, shop_id: int, tickets: int, start: int) -> None:
    """Grow the shop to `tickets` tickets (from `start`), with a customer for every two tickets."""
    rng = random.Random(tickets)
    now = datetime.now(UTC)
    with ctx.db.transaction() as session:
        first_customer = session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 0
        customers = [dict(shop_id=shop_id, name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}", sms_enabled=True,
                          created_at=now) for n in range(start // 2, tickets // 2)]
        session.execute(insert(Customer), customers)
        ids = list(range(first_customer + 1, first_customer + 1 + len(customers)))
        session.execute(insert(CustomerPhone), [dict(shop_id=shop_id, customer_id=c, e164=f"+1206{2000000 + c:07d}",
                                                     type="mobile") for c in ids])
        rows = []
        for n in range(start, tickets):
            at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            rows.append(dict(shop_id=shop_id, customer_id=rng.choice(ids), number=n + 1,
                             subject=f"{rng.choice(DEVICES)} {rng.choice(FAULTS)}", problem="", status=rng.choice(STATUSES),
                             portal_token=f"t{shop_id}x{n}", created_at=at, updated_at=at, last_activity_at=at,
                             needs_reply=rng.random() < 0.03))
        session.execute(insert(Ticket), rows)
        session.execute(update(Shop).where(Shop.id == shop_id).values(next_ticket_number=tickets + 1))


def timed(ctx, shop_id: int, run, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        with ctx.db.reading() as session:
            run(session)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[int(0.95 * (len(samples) - 1))]


def pages(shop_id: int, deep_cursor: str | None, phone: str) -> dict:
    def tickets(wanted, cursor=None):
        def run(session):
            page = desk.list_tickets(session, shop_id, wanted, limit=50, cursor=cursor)
            desk.count_tickets(session, shop_id, wanted)
            [t.customer.name for t in page.items]
        return run

    return {
        "open tickets, first page": tickets(desk.TicketFilter(open=True)),
        "needs reply": tickets(desk.TicketFilter(needs_reply=True)),
        "status Waiting for Parts": tickets(desk.TicketFilter(status="Waiting for Parts", open=True)),
        "search a name ('okafor')": tickets(desk.TicketFilter(q="okafor")),
        "search a subject ('water')": tickets(desk.TicketFilter(q="water damage")),
        "search #number": tickets(desk.TicketFilter(q="#777")),
        "search a phone": tickets(desk.TicketFilter(q=phone)),
        "page 200 by cursor": tickets(desk.TicketFilter(), deep_cursor),
        "customers, search a name": lambda s: desk.list_customers(s, shop_id, "chen", limit=50),
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
    results: dict[str, dict[int, float]] = {}
    with bench_database(kind, "desk") as url:
        ctx = build_context(Settings.from_env(env={}, database_url=url, secret_key="s" * 32))
        shop = do_create_shop(ctx, name="Busy", plan="big_chain", numbers=["+12065550177"]).shop
        have = 0
        for size in sizes:
            fill(ctx, shop.id, size, have)
            have = size
            if kind == "postgresql":
                with ctx.db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
            cursor = deep_cursor(ctx, shop.id, min(200, size // 50 - 1))
            # Customer 7's phone (+12062000007, as fill() numbers them), written the way a person would.
            phone = f"206-{(2000000 + 7) // 10000:03d}-{(2000000 + 7) % 10000:04d}"
            for name, call in pages(shop.id, cursor, phone).items():
                results.setdefault(name, {})[size] = timed(ctx, shop.id, call, rounds)
        ctx.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = {}
    for kind in args.databases.split(","):
        results = run(kind, sizes, args.rounds)
        print(f"\n{kind}: p95 ms per page ({args.rounds} rounds) at " + ", ".join(f"{s:,} tickets" for s in sizes))
        for name, by_size in results.items():
            small, large = by_size[sizes[0]], by_size[sizes[-1]]
            print(f"  {name:32s} " + "  ".join(f"{by_size[s]:7.1f}" for s in sizes) + f"   growth {large / small:4.2f}x")
            figures[f"{kind}: {name}"] = {"p95_ms": {str(s): round(by_size[s], 1) for s in sizes},
                                          "growth": round(large / small, 2)}
        worst = max(by_size[sizes[-1]] for by_size in results.values())
        print(f"  worst p95 at {sizes[-1]:,} tickets: {worst:.1f} ms (median of pages "
              f"{statistics.median(b[sizes[-1]] for b in results.values()):.1f} ms)")
    if hasattr(_support, "emit"):
        _support.emit("desk_lists", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

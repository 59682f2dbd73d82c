"""The traffic a scenario puts through the API while its faults happen: customers (before the faults), then
tickets and SMS comments spread over the load window, and inbound webhooks posted twice at once throughout.

Every text asked for carries a token (`fx` + scenario letter + 4 digits + t/a/b), which checks.py counts at
the simulator.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine

from faults.client import Outcome, ShopApi, Webhook, fresh_number, post_twice


@dataclass
class Traffic:
    letter: str
    shops: list[ShopApi]
    engine: Engine  # for looking before a retry when the server cannot take an Idempotency-Key yet
    requests: dict[str, Outcome] = field(default_factory=dict)
    webhooks: list[Webhook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: int = 0  # requests finished, for faults timed to a share of the load

    @property
    def shop_ids(self) -> list[int]:
        return [s.shop_id for s in self.shops]

    @property
    def senders(self) -> set[str]:
        return {n.lstrip("+") for s in self.shops for n in (s.number, *s.own_numbers)}

    def token(self, i: int, kind: str) -> str:
        return f"fx{self.letter}{i:04d}{kind}"

    def record(self, token: str, outcome: Outcome) -> None:
        with self.lock:
            self.requests[token] = outcome
            self.progress += 1


def run_paced(tasks: Sequence[Callable[[], object]], seconds: float, clients: int) -> None:
    """Start the tasks evenly over `seconds` (0: all at once, a burst) on `clients` threads; wait for them all."""
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = []
        for i, task in enumerate(tasks):
            due = start + seconds * i / max(len(tasks), 1)
            time.sleep(max(0.0, due - time.monotonic()))
            futures.append(pool.submit(task))
        for f in futures:
            f.result()


def make_customers(traffic: Traffic, count: int, clients: int) -> list[tuple[ShopApi, dict]]:
    """Customers with a mobile phone each, spread over the scenario's shops (texts nobody: before the faults)."""
    def one(i: int) -> tuple[ShopApi, dict]:
        shop = traffic.shops[i % len(traffic.shops)]
        return shop, shop.setup("POST", "/api/v1/customers", {
            "name": f"Casey {traffic.letter.upper()}{i:04d}", "phones": [{"number": fresh_number(), "type": "mobile"}]})

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(count)))


def _ticket_exists(engine: Engine, shop_id: int, subject: str) -> bool:
    with engine.connect() as db:
        return db.execute(text("SELECT count(*) FROM tickets WHERE shop_id = :s AND subject = :subject"),
                          {"s": shop_id, "subject": subject}).scalar_one() > 0


def _comment_exists(engine: Engine, shop_id: int, sms_body: str) -> bool:
    with engine.connect() as db:
        return db.execute(text("SELECT count(*) FROM comments WHERE shop_id = :s AND sms_body = :b"),
                          {"s": shop_id, "b": sms_body}).scalar_one() > 0


def open_ticket(traffic: Traffic, shop: ShopApi, customer: dict, i: int) -> int | None:
    """POST /api/v1/tickets (the Initial Problem text); the ticket's id when the API answered 2xx."""
    token = traffic.token(i, "t")
    subject = f"{token} cracked screen"
    outcome = shop.texting("/api/v1/tickets", {"customer_id": customer["id"], "subject": subject,
                                               "problem": "Dropped it"},
                           exists=lambda: _ticket_exists(traffic.engine, shop.shop_id, subject))
    traffic.record(token, outcome)
    return outcome.body.get("id") if outcome.accepted else None


def comment(traffic: Traffic, shop: ShopApi, ticket_id: int, i: int, kind: str) -> None:
    token = traffic.token(i, kind)
    sms = f"Update {token}: the part is on its way."
    outcome = shop.texting(f"/api/v1/tickets/{ticket_id}/comments", {"body": f"Note {token}", "sms_body": sms},
                           exists=lambda: _comment_exists(traffic.engine, shop.shop_id, sms))
    traffic.record(token, outcome)


def ticket_with_comments(traffic: Traffic, shop: ShopApi, customer: dict, i: int) -> None:
    """Three texts: the Initial Problem, then two comments with an SMS text each."""
    ticket_id = open_ticket(traffic, shop, customer, i)
    if ticket_id is not None:
        comment(traffic, shop, ticket_id, i, "a")
        comment(traffic, shop, ticket_id, i, "b")


def webhook_senders(traffic: Traffic, count: int, clients: int) -> list[tuple[ShopApi, dict]]:
    """Customers with one open ticket each, opened before the faults, whose replies the webhooks carry."""
    customers = make_customers(traffic, count, clients)
    base = 9000  # their tickets' tokens stay clear of the load's
    with ThreadPoolExecutor(max_workers=clients) as pool:
        ids = list(pool.map(lambda a: open_ticket(traffic, a[1][0], a[1][1], base + a[0]), enumerate(customers)))
    if None in ids:
        raise RuntimeError("could not open the webhook senders' tickets before the faults")
    return customers


def post_webhooks(traffic: Traffic, senders: list[tuple[ShopApi, dict]], url: str, auth_token: str,
                  seconds: float, clients: int = 4) -> None:
    """One reply from each sender, spread over `seconds`, each posted twice concurrently."""
    tasks = []
    for i, (shop, customer) in enumerate(senders):
        webhook = Webhook(sid="SM" + uuid.uuid4().hex,
                          sender=customer["phones"][0]["number"], to=shop.number,
                          body=f"Is it ready yet? (reply {traffic.letter}-{i})")
        traffic.webhooks.append(webhook)
        tasks.append(lambda w=webhook: post_twice(w, url, auth_token))
    run_paced(tasks, seconds, clients)

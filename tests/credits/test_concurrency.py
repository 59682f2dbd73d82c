"""50 sends at once against 10 credits debit exactly 10, on either database."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from repairtext.adapters.db.models import LedgerEntry, Message, Shop, Ticket
from repairtext.services import credits
from repairtext.services.outbound import do_text_customer_about_ticket


def test_fifty_concurrent_sends_debit_exactly_the_ten_left(ctx, shops):
    shop = shops.create(plan="starter", started=date(2026, 1, 1))
    ticket = shop.ticket(shop.customer()["id"])     # the Initial Problem text takes 1 or more credits
    with ctx.db.transaction() as session:
        left = credits.summary(ctx, session, session.get(Shop, shop.id)).total_remaining
    for _ in range(left - 10):                       # bring the shop to exactly 10
        shop.api.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "", "sms_body": "x"})
    assert shop.credits()["total_remaining"] == 10

    barrier = threading.Barrier(50)
    outcomes = []

    def send():
        barrier.wait()
        with ctx.db.transaction() as session:
            t = session.get(Ticket, ticket["id"])
            [m] = do_text_customer_about_ticket(ctx, session, session.get(Shop, shop.id), t, "race", "comment")
            outcomes.append(m.status)

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("queued") == 10 and outcomes.count("rejected") == 40
    assert shop.credits()["total_remaining"] == 0
    with ctx.db.transaction() as session:
        raced = session.scalars(select(Message.id).where(Message.body == "race", Message.status == "queued")).all()
        debited = session.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.message_id.in_(raced)))
        assert debited == -10
    assert credits.check_ledger(ctx) == []

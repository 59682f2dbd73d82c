"""A shop of realistic size, written straight into the database (the API would take minutes for thousands)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from repairtext.adapters.db.models import Customer, CustomerPhone, Shop, Ticket

DEVICES = ["iPhone 14", "Pixel 8", "Galaxy S23", "MacBook Air", "iPad", "ThinkPad", "Switch", "PS5"]
FAULTS = ["cracked screen", "battery swap", "water damage", "no power", "charging port", "keyboard"]


def phone_for(shop_id: int, n: int) -> str:
    # Area code 312: fresh_number() hands out 206 numbers all session long, and a customer made by the API must
    # never share a number with these (a number of two customers goes to the inbox, not their ticket).
    return f"+1312{(shop_id * 100_000 + n) % 8_000_000 + 2_000_000:07d}"


def grow(ctx, shop_id: int, tickets: int, *, status: str = "In Progress") -> None:
    """Add `tickets` tickets to the shop, a customer (with a mobile phone) for every two; ticket n's activity is n
    minutes after a fixed start, so the newest are the highest numbers. Customer k is "Customer k Volume"."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with ctx.db.transaction() as session:
        first_number = session.scalar(select(Shop.next_ticket_number).where(Shop.id == shop_id))
        before = session.scalar(select(func.max(Customer.id))) or 0
        count = (tickets + 1) // 2
        session.execute(insert(Customer), [dict(shop_id=shop_id, name=f"Customer {k} Volume", sms_enabled=True,
                                                created_at=start) for k in range(count)])
        ids = list(session.scalars(select(Customer.id).where(Customer.shop_id == shop_id, Customer.id > before)
                                   .order_by(Customer.id)))
        session.execute(insert(CustomerPhone), [dict(shop_id=shop_id, customer_id=c, e164=phone_for(shop_id, k),
                                                     type="mobile") for k, c in enumerate(ids)])
        rows = []
        for n in range(tickets):
            at = start + timedelta(minutes=n)
            rows.append(dict(shop_id=shop_id, customer_id=ids[n // 2], number=first_number + n,
                             subject=f"{DEVICES[n % len(DEVICES)]} {FAULTS[n % len(FAULTS)]} {n}", problem="",
                             status=status, portal_token=f"v{shop_id}x{first_number + n}", created_at=at,
                             updated_at=at, last_activity_at=at, needs_reply=False))
        session.execute(insert(Ticket), rows)
        session.execute(update(Shop).where(Shop.id == shop_id).values(next_ticket_number=first_number + tickets))

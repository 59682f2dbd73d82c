"""Customers and their phones. Every phone is stored in E.164 with the type the shop gave it."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Customer, CustomerPhone, Message, Shop
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain.errors import NotFound, ValidationFailed
from repairtext.domain.phones import parse_phone_type, to_e164

MAX_PHONES = 10  # a customer's phones (the API's `phones` holds at most this many)


def parse_phones(raw: list[dict], country: str) -> list[tuple[str, str]]:
    phones, errors = [], []
    for i, phone in enumerate(raw or []):
        try:
            number = to_e164(str(phone.get("number") or ""), country, f"phones[{i}].number")
            kind = parse_phone_type(str(phone.get("type") or ""), f"phones[{i}].type")
            phones.append((number, kind.value))
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    return phones


def check_text(field: str, value: str) -> str:
    """A name or subject as stored: trimmed, and something left after trimming (a blank name helps nobody)."""
    value = (value or "").strip()
    if not value:
        raise ValidationFailed.on(field, "may not be empty or only spaces")
    return value


def get_customer(session: Session, shop_id: int, customer_id: int) -> Customer:
    customer = session.scalar(select(Customer).options(selectinload(Customer.phones))
                              .where(Customer.id == customer_id, Customer.shop_id == shop_id))
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def do_create_customer(ctx: Context, shop_id: int, *, name: str, email: str | None, sms_enabled: bool,
                       phones: list[dict], claim_inbox_texts: bool = False) -> Customer:
    """`claim_inbox_texts`: the customer is added for texts waiting in the inbox from a number nobody had (the
    inbox's "New customer with this number"); those texts become theirs, ready to be placed on their tickets."""
    with ctx.db.transaction() as session:
        shop = must_get(session, Shop, shop_id)
        parsed = parse_phones(phones, shop.country)
        customer = Customer(shop_id=shop_id, name=check_text("name", name), email=email, sms_enabled=sms_enabled,
                            created_at=ctx.clock.now())
        customer.phones = [CustomerPhone(shop_id=shop_id, e164=n, type=t) for n, t in parsed]
        session.add(customer)
        session.flush()
        if claim_inbox_texts and parsed:
            session.execute(update(Message).where(
                Message.shop_id == shop_id, Message.direction == "inbound", Message.inbox_state == "triage",
                Message.customer_id.is_(None), Message.from_number.in_([n for n, _ in parsed]),
            ).values(customer_id=customer.id,
                     routing_reason=f"no customer had this number when it came; {customer.name} was added with it"))
        return get_customer(session, shop_id, customer.id)


def do_update_customer(ctx: Context, shop_id: int, customer_id: int, changes: dict) -> Customer:
    with ctx.db.transaction() as session:
        customer = get_customer(session, shop_id, customer_id)
        shop = must_get(session, Shop, shop_id)
        if "name" in changes:
            customer.name = check_text("name", changes["name"])
        if "email" in changes:
            customer.email = changes["email"]
        if "sms_enabled" in changes:
            customer.sms_enabled = bool(changes["sms_enabled"])
        if "phones" in changes:
            parsed = parse_phones(changes["phones"], shop.country)
            customer.phones = [CustomerPhone(shop_id=shop_id, e164=n, type=t) for n, t in parsed]
        session.flush()
        return get_customer(session, shop_id, customer_id)

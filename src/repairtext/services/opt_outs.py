"""Opt-outs belong to a phone number, not only to a customer record: STOP from a number we do not know yet,
or a customer record added later with that number, must still not be texted. Customer.opted_out_at mirrors
it for the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, Message, OptOut

# CTIA: a HELP request is answered even from a number that opted out.
ALWAYS_ALLOWED_TRIGGERS = frozenset({"help_reply"})


def record_opt_out(session: Session, shop_id: int, e164: str, now: datetime) -> None:
    if number_opted_out(session, shop_id, e164) is None:
        session.add(OptOut(shop_id=shop_id, e164=e164, opted_out_at=now))


def clear_opt_out(session: Session, shop_id: int, e164: str) -> None:
    session.execute(delete(OptOut).where(OptOut.shop_id == shop_id, OptOut.e164 == e164))


def number_opted_out(session: Session, shop_id: int, e164: str) -> datetime | None:
    return session.scalar(select(OptOut.opted_out_at).where(OptOut.shop_id == shop_id, OptOut.e164 == e164))


def opted_out_since(session: Session, shop_id: int, customer: Customer | None, e164: str) -> datetime | None:
    at = number_opted_out(session, shop_id, e164) if e164 else None
    return (customer.opted_out_at if customer else None) or at


def refusal_at_send_time(session: Session, message: Message) -> str | None:
    """Why a queued text may no longer go (it may have waited out quiet hours or a retry meanwhile)."""
    if message.trigger in ALWAYS_ALLOWED_TRIGGERS:
        return None
    customer = session.get(Customer, message.customer_id) if message.customer_id else None
    since = opted_out_since(session, message.shop_id, customer, message.to_number)
    if since is None:
        return None
    return f"{message.to_number} replied STOP on {since.date().isoformat()} while the text was waiting"

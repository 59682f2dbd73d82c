"""Opt-outs belong to a phone number, not only to a customer record: STOP from a number we do not know yet,
or a customer record added later with that number, must still not be texted. Customer.opted_out_at mirrors
it for the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, OptOut

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

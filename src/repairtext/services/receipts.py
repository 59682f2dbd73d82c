"""Delivery receipts: status callbacks update a message and keep its history.

Callbacks come more than once and out of order (`delivered` before `sent`); domain/message_status.py says
how a status may move (only forward, never away from a final one) and adapters/db/statuses.py writes it. Twilio does not charge for `failed` messages, so those credits come back;
`undelivered` is charged by the carrier and is not refunded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Customer, Message, MessageEvent, PendingReceipt, Shop
from repairtext.adapters.db.statuses import StatusReport, write_statuses
from repairtext.bootstrap import Context
from repairtext.services import credits


TWILIO_STATUS = {
    "accepted": "accepted", "queued": "accepted", "scheduled": "accepted", "sending": "accepted",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}
FLOWROUTE_STATUS = {
    "message buffered": "sent", "smsc submit": "sent", "smsc intermediate notifications": "sent",
    "delivered": "delivered", "smsc reject": "failed", "failed": "failed",
    "expired": "undelivered", "undelivered": "undelivered", "smsc expired": "undelivered",
}
OPTED_OUT_CODES = {"21610"}


def our_status(provider: str, provider_status: str) -> str | None:
    table = TWILIO_STATUS if provider == "twilio" else FLOWROUTE_STATUS
    return table.get((provider_status or "").strip().lower())


def set_status(session: Session, message: Message, status: str, now: datetime, *,
                provider_status: str | None = None, error_code: str | None = None) -> bool:
    """Move `message` to `status` if the status rule allows it; the event is kept in the history either way."""
    report = StatusReport(message.id, status, provider_status=provider_status, error_code=error_code)
    return message.id in write_statuses(session, [report], now)


def apply_receipt(ctx: Context, session: Session, message: Message, provider_status: str,
                  error_code: str | None, now: datetime) -> None:
    status = our_status(message.provider, provider_status)
    if status is None:
        session.add(MessageEvent(message_id=message.id, status="unknown", provider_status=provider_status,
                                 error_code=error_code, applied=False, at=now))
        return
    moved = set_status(session, message, status, now, provider_status=provider_status, error_code=error_code)
    if not moved:
        return
    if status == "failed" and message.credits:
        shop = session.get(Shop, message.shop_id)
        credits.refund(ctx, session, shop, message, f"provider reported failed ({error_code or 'no code'})")
    if error_code in OPTED_OUT_CODES and message.customer_id:
        customer = session.get(Customer, message.customer_id)
        if customer.opted_out_at is None:
            customer.opted_out_at = now


def do_record_receipt(ctx: Context, provider: str, provider_id: str, provider_status: str,
                      error_code: str | None, shop_id: int | None = None) -> bool:
    """Returns False when the message is not known yet; the receipt is kept until it is (the callback may
    beat the worker's commit of the provider id). `shop_id` is given when the webhook URL names the shop
    (Flowroute's token): a shop's token then reaches only its own messages."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        query = select(Message).where(Message.provider == provider, Message.provider_id == provider_id)
        if shop_id is not None:
            query = query.where(Message.shop_id == shop_id)
        message = session.scalar(query)
        if message is None:
            session.add(PendingReceipt(provider=provider, provider_id=provider_id, provider_status=provider_status,
                                       error_code=error_code, at=now))
            return False
        apply_receipt(ctx, session, message, provider_status, error_code, now)
        return True


PARKED_RECEIPT_TTL = timedelta(days=7)


def do_apply_parked_receipts(ctx: Context, limit: int = 500) -> int:
    """Receipts parked because their message was not recorded yet, applied once it is. On PostgreSQL a
    receipt can be parked just as the worker commits the id (each transaction saw the other's 'before'),
    so the worker sweeps them; those never matched are dropped after a week."""
    now = ctx.clock.now()
    applied = 0
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(PendingReceipt, Message).join(Message, (Message.provider == PendingReceipt.provider)
                                                 & (Message.provider_id == PendingReceipt.provider_id))
            .order_by(PendingReceipt.id).limit(limit).with_for_update(of=PendingReceipt, skip_locked=True)
        ).all()
        for receipt, message in rows:
            apply_receipt(ctx, session, message, receipt.provider_status, receipt.error_code, now)
            session.delete(receipt)
            applied += 1
        session.execute(delete(PendingReceipt).where(PendingReceipt.at < now - PARKED_RECEIPT_TTL))
    return applied


def apply_pending_receipts(ctx: Context, session: Session, message: Message, now: datetime) -> None:
    pending = session.scalars(select(PendingReceipt).where(
        PendingReceipt.provider == message.provider, PendingReceipt.provider_id == message.provider_id,
    ).order_by(PendingReceipt.id)).all()
    for receipt in pending:
        apply_receipt(ctx, session, message, receipt.provider_status, receipt.error_code, now)
        session.delete(receipt)

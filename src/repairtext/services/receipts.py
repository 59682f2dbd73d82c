"""Delivery receipts: status callbacks update a message and keep its history.

Callbacks come more than once and out of order (`delivered` before `sent`); domain/message_status.py says
how a status may move (only forward, never away from a final one) and adapters/db/statuses.py writes it, and a
replay adds nothing to the history (one event per distinct status). Twilio does not charge for `failed` messages,
so those credits come back; `undelivered` is charged by the carrier and is not refunded.

A receipt only ever reaches messages of the provider account it came in for: the platform's Twilio account
(signed callbacks) or the one shop whose Flowroute token it was posted with, whether applied at once or parked
until the message's id is recorded. A shop parks at most PARKED_PER_ACCOUNT receipts; more are dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from repairtext.adapters import logs
from repairtext.adapters.db.models import Message, MessageEvent, PendingReceipt, Shop
from repairtext.adapters.db.rows import must_get
from repairtext.adapters.db.statuses import StatusReport, write_statuses
from repairtext.bootstrap import Context
from repairtext.domain.accounts import PLATFORM, account_of
from repairtext.services import credits, opt_outs

log = logging.getLogger("repairtext.receipts")


# Every outbound value of Twilio's MessageStatus enum (twilio-oai, api.v2010 message_enum_status); the history
# keeps Twilio's own word beside ours. `partially_delivered` (some segments of a long text confirmed, not all)
# is not a delivery and not final: it counts as `sent`, and a later receipt or the reconcile sweep settles it.
# `receiving` and `received` are inbound only and never describe a text we sent.
TWILIO_STATUS = {
    "accepted": "accepted", "queued": "accepted", "scheduled": "accepted", "sending": "accepted",
    "sent": "sent", "partially_delivered": "sent", "delivered": "delivered", "read": "delivered",
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


def _seen_before(session: Session, message: Message, status: str, provider_status: str | None,
                 error_code: str | None) -> bool:
    """A replay of a receipt already in the history (providers resend; anyone holding a URL can replay)."""
    return session.scalar(select(MessageEvent.id).where(
        MessageEvent.message_id == message.id, MessageEvent.status == status,
        MessageEvent.provider_status.is_(None) if provider_status is None else MessageEvent.provider_status == provider_status,
        MessageEvent.error_code.is_(None) if error_code is None else MessageEvent.error_code == error_code,
    ).limit(1)) is not None


def apply_receipt(ctx: Context, session: Session, message: Message, provider_status: str,
                  error_code: str | None, now: datetime) -> None:
    with logs.about_message(message.id):
        log.debug("receipt for text %s: %s %s", message.id, provider_status, error_code or "")
        _apply_receipt(ctx, session, message, provider_status, error_code, now)


def _apply_receipt(ctx: Context, session: Session, message: Message, provider_status: str,
                   error_code: str | None, now: datetime) -> None:
    status = our_status(message.provider, provider_status) or "unknown"
    if _seen_before(session, message, status, provider_status, error_code):
        return
    if status == "unknown":
        session.add(MessageEvent(message_id=message.id, status="unknown", provider_status=provider_status,
                                 error_code=error_code, applied=False, at=now))
        return
    if error_code in OPTED_OUT_CODES:  # about the number, whatever the message's own status
        opt_outs.do_opt_out(session, message.shop_id, message.to_number, now, opt_outs.CARRIER)
    moved = set_status(session, message, status, now, provider_status=provider_status, error_code=error_code)
    if moved and status == "failed" and message.credits:
        shop = must_get(session, Shop, message.shop_id)
        credits.refund(ctx, session, shop, message, f"provider reported failed ({error_code or 'no code'})")


def _receipt_account(provider: str, shop_id: int | None) -> tuple[str, int | None]:
    """(account, shop the receipt is parked for): Twilio's are the platform's whatever URL they came to."""
    return (PLATFORM, None) if provider == "twilio" else (account_of(provider, shop_id), shop_id)


# Parked receipts are normally applied within seconds; a bound keeps one shop from filling the table.
PARKED_PER_ACCOUNT = 1_000
PARKED_ON_PLATFORM = 10_000   # the platform's (signed by Twilio) race every commit of every shop


def do_record_receipt(ctx: Context, provider: str, provider_id: str, provider_status: str,
                      error_code: str | None, shop_id: int | None = None) -> bool:
    """Returns False when the message is not known yet; the receipt is kept until it is (the callback may
    beat the worker's commit of the provider id). `shop_id` is the shop whose Flowroute token the receipt
    came with (None for Twilio's): it reaches that shop's Flowroute messages and nothing else."""
    now = ctx.clock.now()
    account, park_for = _receipt_account(provider, shop_id)
    with ctx.db.transaction() as session:
        message = session.scalar(select(Message).where(
            Message.provider == provider, Message.account == account, Message.provider_id == provider_id))
        if message is None:
            _park(session, provider, provider_id, provider_status, error_code, park_for, now)
            return False
        apply_receipt(ctx, session, message, provider_status, error_code, now)
        return True


def _park(session: Session, provider: str, provider_id: str, provider_status: str, error_code: str | None,
          shop_id: int | None, now: datetime) -> None:
    mine = (PendingReceipt.shop_id.is_(None) if shop_id is None else PendingReceipt.shop_id == shop_id,
            PendingReceipt.provider == provider)
    if session.scalar(select(PendingReceipt.id).where(
            *mine, PendingReceipt.provider_id == provider_id, PendingReceipt.provider_status == provider_status).limit(1)):
        return  # a replay of a receipt already parked
    parked = session.scalar(select(func.count()).select_from(PendingReceipt).where(*mine)) or 0
    if parked >= (PARKED_ON_PLATFORM if shop_id is None else PARKED_PER_ACCOUNT):
        log.warning("receipt %s %s for %s dropped: %d receipts already wait for unknown messages",
                    provider, provider_id, f"shop {shop_id}" if shop_id else "the platform account", parked)
        return
    session.add(PendingReceipt(shop_id=shop_id, provider=provider, provider_id=provider_id,
                               provider_status=provider_status, error_code=error_code, at=now))


def _same_account(message_shop, message_account):
    """A parked receipt's match: same provider and id, and the account it came in for (platform or its shop)."""
    return (((PendingReceipt.shop_id.is_(None)) & (message_account == PLATFORM))
            | ((PendingReceipt.shop_id == message_shop) & (message_account != PLATFORM)))


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
                                                 & (Message.provider_id == PendingReceipt.provider_id)
                                                 & _same_account(Message.shop_id, Message.account))
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
        PendingReceipt.shop_id.is_(None) if message.account == PLATFORM else PendingReceipt.shop_id == message.shop_id,
    ).order_by(PendingReceipt.id)).all()
    for receipt in pending:
        apply_receipt(ctx, session, message, receipt.provider_status, receipt.error_code, now)
        session.delete(receipt)

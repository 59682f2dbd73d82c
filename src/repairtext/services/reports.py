"""The consumables usage report: per day and per month, from the ledger (credits) and the messages (usage)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import LedgerEntry, Message, Shop
from repairtext.bootstrap import Context
from repairtext.domain.errors import ValidationFailed

CSV_COLUMNS = ["date", "granted", "monthly_used", "addon_used", "expired", "addons_bought", "refunded",
               "texts", "segments", "credits", "by_trigger", "by_provider"]
MAX_DAYS = 400


def _trigger_group(trigger: str | None) -> str:
    if not trigger:
        return "other"
    return "status_template" if trigger.startswith("status:") else trigger


def consumables(ctx: Context, session: Session, shop: Shop, start: date | None, end: date | None) -> dict:
    zone = ZoneInfo(shop.time_zone)
    today = ctx.clock.now().astimezone(zone).date()
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise ValidationFailed.on("from", "'from' must be on or before 'to'")
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed.on("from", f"a report covers at most {MAX_DAYS} days")
    lo = datetime.combine(start, time(0), tzinfo=zone)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)

    days: dict[str, dict] = {}
    for offset in range((end - start).days + 1):
        d = (start + timedelta(days=offset)).isoformat()
        days[d] = {"date": d, "granted": 0, "monthly_used": 0, "addon_used": 0, "expired": 0, "addons_bought": 0,
                   "refunded": 0, "texts": 0, "segments": 0, "credits": 0,
                   "by_trigger": defaultdict(int), "by_provider": defaultdict(int)}

    for e in session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= lo,
                                                       LedgerEntry.created_at < hi)):
        day = days[e.created_at.astimezone(zone).date().isoformat()]
        if e.kind == "grant":
            day["granted"] += e.amount
        elif e.kind == "expiry":
            day["expired"] += -e.amount
        elif e.kind == "purchase":
            day["addons_bought"] += e.amount
        elif e.kind == "debit":
            day["monthly_used" if e.bucket == "monthly" else "addon_used"] += -e.amount
        elif e.kind == "refund":
            day["refunded"] += e.amount
            day["monthly_used" if e.bucket == "monthly" else "addon_used"] -= e.amount

    for m in session.scalars(select(Message).where(
            Message.shop_id == shop.id, Message.direction == "outbound", Message.status != "rejected",
            Message.created_at >= lo, Message.created_at < hi)):
        day = days[m.created_at.astimezone(zone).date().isoformat()]
        refunded = m.status == "failed"
        day["texts"] += 1
        day["segments"] += m.segments
        day["credits"] += 0 if refunded else m.credits
        day["by_trigger"][_trigger_group(m.trigger)] += m.segments
        day["by_provider"][m.provider] += m.segments

    months: dict[str, dict] = {}
    for row in days.values():
        row["by_trigger"], row["by_provider"] = dict(row["by_trigger"]), dict(row["by_provider"])
        month = months.setdefault(row["date"][:7], {"month": row["date"][:7], "by_trigger": defaultdict(int),
                                                   "by_provider": defaultdict(int)})
        for key in CSV_COLUMNS[1:10]:
            month[key] = month.get(key, 0) + row[key]
        for key in ("by_trigger", "by_provider"):
            for name, value in row[key].items():
                month[key][name] += value
    for month in months.values():
        month["by_trigger"], month["by_provider"] = dict(month["by_trigger"]), dict(month["by_provider"])

    from repairtext.services.credits import summary

    s = summary(ctx, session, shop)
    return {"from": start.isoformat(), "to": end.isoformat(), "time_zone": shop.time_zone,
            "remaining": {"monthly": s.monthly_remaining, "addon": s.addon_remaining, "total": s.total_remaining},
            "months": list(months.values()), "days": list(days.values())}

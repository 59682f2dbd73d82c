"""The consumables usage report: per day and per month, from the ledger (credits) and the messages (usage).
The API and the staff pages ask for the same report, with the same range rules and the same CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import LedgerEntry, Message, Shop
from repairtext.bootstrap import Context
from repairtext.domain.credits import ADDON, MONTHLY
from repairtext.domain.errors import FieldError, ValidationFailed

CSV_COLUMNS = ["date", "granted", "monthly_used", "addon_used", "expired", "addons_bought", "refunded",
               "texts", "segments", "credits", "by_trigger", "by_provider"]
MAX_DAYS = 366  # a year, leap day included: one row a day stays a small answer
# Dates outside these are typing mistakes, and 9999-12-31 would overflow the day after it.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def resolve_range(ctx: Context, shop: Shop, start: date | None, end: date | None) -> tuple[date, date]:
    """The range a report covers: by default the allowance month so far, in the shop's time zone; a `to` alone
    covers its month up to that day. Raises ValidationFailed naming `from` or `to`."""
    end = end or ctx.clock.now().astimezone(ZoneInfo(shop.time_zone)).date()
    start = start or end.replace(day=1)
    check_range(start, end)
    return start, end


def check_range(start: date, end: date) -> None:
    wrong = [FieldError(field, f"use a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}")
             for field, day in (("from", start), ("to", end)) if not EARLIEST <= day <= LATEST]
    if wrong:
        raise ValidationFailed(wrong)
    if start > end:
        raise ValidationFailed.on("from", f"'from' ({start.isoformat()}) is after 'to' ({end.isoformat()}); a range "
                                          "starts on or before its last day")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed.on("from", f"a report covers at most {MAX_DAYS} days; this range has "
                                          f"{(end - start).days + 1:,}")


def _trigger_group(trigger: str | None) -> str:
    if not trigger:
        return "other"
    return "status_template" if trigger.startswith("status:") else trigger


def consumables(ctx: Context, session: Session, shop: Shop, start: date | None, end: date | None) -> dict:
    zone = ZoneInfo(shop.time_zone)
    start, end = resolve_range(ctx, shop, start, end)
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


def _cell(value):
    # Breakdowns become "comment=3;initial_problem=2" so the CSV stays one row a day.
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in sorted(value.items()))
    return value


def csv_text(report: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in report["days"]:
        writer.writerow({k: _cell(row.get(k, 0)) for k in CSV_COLUMNS})
    return out.getvalue()


def csv_filename(report: dict) -> str:
    return f"consumables-{report['from']}-{report['to']}.csv"


@dataclass(frozen=True)
class DayUsage:
    """Credits used on one day (after refunds), and in that day's allowance month up to and including it."""

    day: date
    monthly: int
    addon: int
    monthly_to_date: int
    addon_to_date: int

    @property
    def used(self) -> int:
        return self.monthly + self.addon


def usage_by_day(session: Session, shop: Shop, report: dict) -> list[DayUsage]:
    """The report's days with month-to-date running totals, which start again on each month's 1st (the
    allowance does). A range starting mid-month carries in what that month used before it."""
    start = date.fromisoformat(report["from"])
    carried = _used_in_month_before(session, shop, start)
    monthly_to_date, addon_to_date = carried[MONTHLY], carried[ADDON]
    out = []
    for row in report["days"]:
        day = date.fromisoformat(row["date"])
        if day.day == 1:
            monthly_to_date = addon_to_date = 0
        monthly_to_date += row["monthly_used"]
        addon_to_date += row["addon_used"]
        out.append(DayUsage(day, row["monthly_used"], row["addon_used"], monthly_to_date, addon_to_date))
    return out


def _used_in_month_before(session: Session, shop: Shop, day: date) -> dict[str, int]:
    """Debits less refunds, by bucket, from the 1st of `day`'s month to the day before (one indexed sum)."""
    used = {MONTHLY: 0, ADDON: 0}
    if day.day == 1:
        return used
    zone = ZoneInfo(shop.time_zone)
    rows = session.execute(
        select(LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.kind.in_(("debit", "refund")),
               LedgerEntry.created_at >= datetime.combine(day.replace(day=1), time(0), tzinfo=zone),
               LedgerEntry.created_at < datetime.combine(day, time(0), tzinfo=zone))
        .group_by(LedgerEntry.bucket))
    for bucket, amount in rows:
        used[bucket] = -int(amount or 0)
    return used

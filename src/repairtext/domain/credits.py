"""Credit rules from the product: a monthly allowance per calendar month in the shop's zone that never rolls
over, add-on packs that roll over until used, monthly credits spent first, add-ons on sale from 30 days after
the subscription started. Plain arithmetic; the ledger that records it lives in services/credits.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from repairtext.domain.errors import InsufficientCredits

# One alert a month when the shop is about to run dry; a single send is at most a few credits.
LOW_CREDIT_THRESHOLD = 15

MONTHLY = "monthly"
ADDON = "addon"


def month_of(instant: datetime, time_zone: str) -> str:
    """The calendar month ("2026-11") that contains `instant` in the shop's time zone."""
    local = instant.astimezone(ZoneInfo(time_zone))
    return f"{local.year:04d}-{local.month:02d}"


def addons_available_from(subscription_started: date, after_days: int) -> date:
    return subscription_started + timedelta(days=after_days)


@dataclass(frozen=True)
class Spend:
    monthly: int
    addon: int

    @property
    def total(self) -> int:
        return self.monthly + self.addon


def plan_spend(needed: int, monthly_remaining: int, addon_remaining: int) -> Spend:
    """Monthly credits first, then add-ons; all or nothing (never a partial debit)."""
    if needed < 0:
        raise ValueError("needed must be >= 0")
    available = max(monthly_remaining, 0) + max(addon_remaining, 0)
    if needed > available:
        raise InsufficientCredits(needed, available)
    from_monthly = min(needed, max(monthly_remaining, 0))
    return Spend(monthly=from_monthly, addon=needed - from_monthly)


def is_low(total_remaining: int) -> bool:
    return total_remaining <= LOW_CREDIT_THRESHOLD


def crosses_low_threshold(total_after: int, already_alerted: bool) -> bool:
    return is_low(total_after) and not already_alerted

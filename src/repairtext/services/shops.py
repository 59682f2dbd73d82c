"""Shops (tenants): creation and settings (their API keys: services/api_keys.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop, ShopNumber, TicketStatus
from repairtext.adapters.db.rows import must_get
from repairtext.bootstrap import Context
from repairtext.domain import tickets as ticket_rules
from repairtext.domain.errors import FieldError, NotFound, ValidationFailed
from repairtext.domain.phones import to_e164
from repairtext.domain.quiet_hours import QuietHours
from repairtext.services import credits, templates
from repairtext.services.api_keys import issue_api_key

# What texts through the shop's own Flowroute account need, by the field that holds it, in the shop's words.
FLOWROUTE_NEEDS = {
    "flowroute_access_key": "your Flowroute access key",
    "flowroute_secret_key": "your Flowroute secret key",
    "numbers": "at least one number of your Flowroute account",
}
# A change to any of these on a Flowroute shop is checked against FLOWROUTE_NEEDS again.
_FLOWROUTE_FIELDS = frozenset({"provider", *FLOWROUTE_NEEDS})


@dataclass(frozen=True)
class NewShop:
    shop: Shop
    api_key: str


def check_time_zone(value: str, field: str = "time_zone") -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.on(field, f"{value!r} is not an IANA time zone (for example America/Chicago)") from None
    return value


def check_numbers(raw: list[str], country: str, session: Session, shop_id: int | None) -> list[str]:
    if not raw:
        raise ValidationFailed.on("numbers", "a shop needs at least one sending number")
    numbers, errors = [], []
    for i, value in enumerate(raw):
        try:
            numbers.append(to_e164(value, country, f"numbers[{i}]"))
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    taken = session.scalars(select(ShopNumber).where(ShopNumber.e164.in_(numbers))).all()
    for row in taken:
        if row.shop_id != shop_id:
            # Said the same whoever has it: a shop must not learn which numbers other shops use.
            errors.append(FieldError(f"numbers[{numbers.index(row.e164)}]",
                                     f"{row.e164} is not available; if the number is yours, contact support"))
    if errors:
        raise ValidationFailed(errors)
    return list(dict.fromkeys(numbers))


def do_create_shop(
    ctx: Context, *, name: str, plan: str, numbers: list[str], time_zone: str = "America/New_York",
    started: date | None = None, country: str = "US",
) -> NewShop:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.on("name", "a shop needs a name")
    if plan not in ctx.catalog.plans:
        raise ValidationFailed.on("plan", f"unknown plan {plan!r}; use one of {', '.join(ctx.catalog.plans)}")
    check_time_zone(time_zone)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        e164s = check_numbers(numbers, country, session, None)
        shop = Shop(
            name=name, plan=plan, time_zone=time_zone, country=country,
            subscription_started_on=started or now.astimezone(ZoneInfo(time_zone)).date(),
            provider="twilio", flowroute_token=secrets.token_urlsafe(32), smart_encoding=True,
            quiet_start="21:00", quiet_end="08:00", next_ticket_number=1, created_at=now,
        )
        shop.numbers = [ShopNumber(e164=n, provider="twilio") for n in e164s]  # the operator's: on the platform account
        session.add(shop)
        session.flush()
        for position, status in enumerate(ticket_rules.DEFAULT_STATUSES):
            session.add(TicketStatus(shop_id=shop.id, name=status, position=position))
        templates.seed_defaults(session, shop, now)
        credits.open_account(ctx, session, shop, now)
        _, api_key = issue_api_key(session, shop, now)
    return NewShop(shop, api_key)


def do_update_shop(ctx: Context, shop_id: int, changes: dict) -> Shop:
    with ctx.db.transaction() as session:
        shop = must_get(session, Shop, shop_id)
        if "time_zone" in changes:
            shop.time_zone = check_time_zone(changes["time_zone"])
        if "quiet_hours" in changes:
            quiet = QuietHours.parse(changes["quiet_hours"])
            shop.quiet_start, shop.quiet_end = quiet.as_dict()["start"], quiet.as_dict()["end"]
        if "smart_encoding" in changes:
            shop.smart_encoding = bool(changes["smart_encoding"])
        if "flowroute_access_key" in changes:
            shop.flowroute_access_key = (changes["flowroute_access_key"] or "").strip() or None
        if "flowroute_secret_key" in changes:
            secret = (changes["flowroute_secret_key"] or "").strip()
            shop.flowroute_secret_encrypted = ctx.secrets.seal(secret) if secret else None
        if "numbers" in changes:
            shop.numbers = _shop_managed_numbers(session, shop, changes["numbers"] or [])
        if "provider" in changes:
            provider = changes["provider"]
            if provider not in ("twilio", "flowroute"):
                raise ValidationFailed.on("provider", "use 'twilio' (built-in, uses credits) or 'flowroute' (your own account)")
            shop.provider = provider
        if shop.provider == "flowroute" and _FLOWROUTE_FIELDS & changes.keys():
            check_flowroute_ready(shop)
        session.flush()
        session.refresh(shop)
        _ = shop.numbers
    return shop


def flowroute_missing(shop: Shop) -> list[str]:
    """The FLOWROUTE_NEEDS fields this shop has not saved yet (in the order of the settings form)."""
    missing = []
    if not shop.flowroute_access_key:
        missing.append("flowroute_access_key")
    if not shop.flowroute_secret_encrypted:
        missing.append("flowroute_secret_key")
    # Flowroute refuses to send from a number its account does not own, so the built-in numbers do not count.
    if not any(n.provider == "flowroute" for n in shop.numbers):
        missing.append("numbers")
    return missing


def check_flowroute_ready(shop: Shop) -> None:
    """Texts of a shop on Flowroute go through its own account: refuse, naming each missing field, until the
    account's keys and one of its numbers are saved (the changes of the same request count)."""
    missing = flowroute_missing(shop)
    if missing:
        needs = [FLOWROUTE_NEEDS[field] for field in missing]
        listed = needs[0] if len(needs) == 1 else ", ".join(needs[:-1]) + " and " + needs[-1]
        raise ValidationFailed([FieldError("provider", f"to send through Flowroute, first add {listed}"),
                                *(FieldError(field, f"add {FLOWROUTE_NEEDS[field]} to send through Flowroute")
                                  for field in missing)])


def _shop_managed_numbers(session: Session, shop: Shop, requested: list[str]) -> list[ShopNumber]:
    """A shop lists its numbers. New ones are its own Flowroute numbers (Flowroute itself refuses to send from
    a number the shop's account does not own); numbers on the built-in account are the operator's to assign
    and remove, so a shop can neither claim one nor drop one here."""
    e164s = check_numbers(requested, shop.country, session, shop.id)
    current = {n.e164: n for n in shop.numbers}
    kept_platform = [n for n in shop.numbers if n.provider == "twilio" and n.e164 not in e164s]
    if kept_platform:
        raise ValidationFailed.on("numbers", f"{kept_platform[0].e164} is on the built-in account; ask the operator to remove it")
    return [current.get(n) or ShopNumber(e164=n, provider="flowroute") for n in e164s]


def _shop_or_404(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound(f"no shop {shop_id}")
    return shop


def do_assign_platform_number(ctx: Context, shop_id: int, number: str) -> Shop:
    with ctx.db.transaction() as session:
        shop = _shop_or_404(session, shop_id)
        [e164] = check_numbers([number], shop.country, session, shop.id)
        existing = next((n for n in shop.numbers if n.e164 == e164), None)
        if existing is None:
            shop.numbers.append(ShopNumber(e164=e164, provider="twilio"))
        else:
            existing.provider = "twilio"
        session.flush()
        _ = [n.e164 for n in shop.numbers]
    return shop


def do_release_number(ctx: Context, shop_id: int, number: str) -> Shop:
    with ctx.db.transaction() as session:
        shop = _shop_or_404(session, shop_id)
        e164 = to_e164(number, shop.country, "number")
        if e164 not in [n.e164 for n in shop.numbers]:
            raise NotFound(f"{e164} is not a number of shop {shop_id}")
        shop.numbers = [n for n in shop.numbers if n.e164 != e164]
        session.flush()
        _ = [n.e164 for n in shop.numbers]
    return shop


def quiet_hours_of(shop: Shop) -> QuietHours:
    return QuietHours.parse({"start": shop.quiet_start, "end": shop.quiet_end})


def status_names(session: Session, shop_id: int) -> list[str]:
    return list(session.scalars(
        select(TicketStatus.name).where(TicketStatus.shop_id == shop_id).order_by(TicketStatus.position)
    ))

"""The credits page: balances, the usage chart and table for a chosen range and its CSV (the API's report, with
the staff session instead of an API key), and buying an add-on pack through a confirmation page of its own, so
the price is stated before anything is posted, with or without JavaScript. Only owners buy."""

from __future__ import annotations

import re
import secrets
from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import AddonsNotYetAvailable, Conflict, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.web import usage_chart
from repairtext.entrypoints.web.auth import PostedDep, Staff, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, see_other
from repairtext.entrypoints.web.rendering import page
from repairtext.services import credits, idempotency, reports

router = APIRouter(include_in_schema=False)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The confirmation page's one-time purchase key: a double submit without JavaScript still buys one pack.
PURCHASE_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _asked_range(request: Request) -> tuple[dict[str, str], dict[str, date | None], dict[str, str]]:
    """The from/to query as typed (bounded), as dates (None: the default), and the errors by field."""
    typed: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for field in ("from", "to"):
        raw = request.query_params.get(field, "").strip()[:40]
        typed[field], dates[field] = raw, None
        if not raw:
            continue
        try:
            if not ISO_DATE.fullmatch(raw):
                raise ValueError(raw)
            dates[field] = date.fromisoformat(raw)
        except ValueError:
            errors[field] = "Use a date like 2026-11-01."
    return typed, dates, errors


def _today(ctx, shop: Shop) -> date:
    return ctx.clock.now().astimezone(ZoneInfo(shop.time_zone)).date()


def _credits_page(request: Request, ctx, staff: Staff, typed: dict[str, str], dates: dict[str, date | None],
                  errors: dict[str, str]) -> Response:
    report = chart = None
    usage: list[reports.DayUsage] = []
    with ctx.db.reading() as session:
        shop = must_get(session, Shop, staff.shop.id)
        summary = credits.summary(ctx, session, shop)
        if not errors:
            try:
                report = reports.consumables(ctx, session, shop, dates["from"], dates["to"])
                usage = reports.usage_by_day(session, shop, report)
            except ValidationFailed as exc:
                errors = {field: _sentence(message) for field, message in field_errors(exc).items()}
    if report is not None:
        typed = {"from": report["from"], "to": report["to"]}
        chart = usage_chart.build(usage, summary.monthly_allowance)
    active = ("texts", "granted", "expired", "addons_bought", "refunded", "monthly_used", "addon_used")
    return page(request, "credits.html", staff=staff, nav="credits", summary=summary, report=report, chart=chart,
                plan_label=ctx.catalog.plan(summary.plan).label, pack=ctx.catalog.addon,
                addons_later=_today(ctx, shop) < summary.addons_available_from, values=typed, errors=errors,
                max_days=reports.MAX_DAYS, earliest=reports.EARLIEST, latest=reports.LATEST,
                days=[d for d in report["days"] if any(d[k] for k in active)] if report else [],
                status=422 if errors else 200)


@router.get("/credits")
def credits_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return _credits_page(request, ctx, staff, *_asked_range(request))


@router.get("/credits/usage.csv")
def usage_csv(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    """The same CSV as GET /api/v1/reports/consumables?format=csv, for the signed-in shop only."""
    typed, dates, errors = _asked_range(request)
    if not errors:
        try:
            with ctx.db.reading() as session:
                report = reports.consumables(ctx, session, must_get(session, Shop, staff.shop.id),
                                             dates["from"], dates["to"])
        except ValidationFailed:
            pass  # the page says what is wrong, by the field
        else:
            return Response(reports.csv_text(report), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"',
                "Cache-Control": "no-store"})
    return _credits_page(request, ctx, staff, typed, dates, errors)


@router.get("/credits/addons/confirm")
def confirm_addon(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    with ctx.db.reading() as session:
        shop = must_get(session, Shop, staff.shop.id)
        summary = credits.summary(ctx, session, shop)
    return page(request, "addon_confirm.html", staff=staff, nav="credits", summary=summary, pack=ctx.catalog.addon,
                addons_later=_today(ctx, shop) < summary.addons_available_from,
                purchase_key=secrets.token_urlsafe(24))


@router.post("/credits/addons")
def buy_addon(posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()  # buying spends the shop's money
    response = see_other("/credits")
    shop_id = posted.staff.shop.id
    key = posted.get("purchase_key")
    once = f"web-addon:{key}" if PURCHASE_KEY.fullmatch(key) else None

    def work(session) -> idempotency.Answer:
        purchase = credits.buy_addon(ctx, session, shop_id)
        return idempotency.Answer(201, {"credits": purchase.credits, "price_cents": purchase.price_cents})

    try:
        answer = idempotency.do_once(ctx, shop_id, once, idempotency.fingerprint("POST", "/credits/addons", None),
                                     work)
    except AddonsNotYetAvailable as exc:
        return flash(ctx, response, _sentence(str(exc)), "error")
    except Conflict:  # PostgreSQL: the same confirmation posted twice at once; the first one is buying
        return flash(ctx, response, "This purchase is already being made. Reload the page in a moment.", "error")
    bought = f"{answer.body['credits']:,} credits for ${answer.body['price_cents'] / 100:,.2f}"
    if answer.replayed:
        return flash(ctx, response, f"This add-on pack was already bought ({bought}); nothing was charged again.")
    return flash(ctx, response, f"Bought an add-on pack: {bought}. They roll over until used.")

"""The shop's settings: provider, numbers, time zone, quiet hours, API keys (credits: routes_credits.py)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import Conflict, ValidationFailed
from repairtext.entrypoints.api.deps import ContextDep
from repairtext.entrypoints.api.routes_api_keys import key_view
from repairtext.entrypoints.api.schemas import Id, ShopUpdate
from repairtext.entrypoints.api.views import shop_view
from repairtext.entrypoints.web.auth import PostedDep, StaffDep, flash
from repairtext.entrypoints.web.forms import field_errors, see_other, validated
from repairtext.entrypoints.web.rendering import page
from repairtext.services import api_keys, shops

router = APIRouter(include_in_schema=False)


@cache
def time_zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _settings_page(request: Request, ctx, staff, *, errors: dict | None = None, values: dict | None = None,
                   status: int = 200, new_key: dict | None = None) -> Response:
    with ctx.db.reading() as session:
        shop = must_get(session, Shop, staff.shop.id)
        view = shop_view(shop, ctx.settings.public_url)
        keys = [key_view(k) for k in api_keys.list_keys(session, staff.shop.id)]
        flowroute_needs = [(field, shops.FLOWROUTE_NEEDS[field]) for field in shops.flowroute_missing(shop)]
    if values is None:
        values = {"provider": view["provider"], "flowroute_access_key": view["flowroute_access_key"] or "",
                  "numbers": "\n".join(view["numbers"]), "time_zone": view["time_zone"],
                  "quiet_start": view["quiet_hours"]["start"], "quiet_end": view["quiet_hours"]["end"],
                  "smart_encoding": "on" if view["smart_encoding"] else ""}
    return page(request, "settings.html", staff=staff, nav="settings", view=view, values=values,
                errors=errors or {}, time_zones=time_zones(), status=status, api_keys=keys, new_key=new_key,
                flowroute_needs=flowroute_needs)


@router.get("/settings")
def settings_page(request: Request, staff: StaffDep, ctx: ContextDep) -> Response:
    return _settings_page(request, ctx, staff)


@router.post("/settings")
def save_settings(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    changes = {
        "provider": posted.get("provider") or "twilio",
        "flowroute_access_key": posted.get("flowroute_access_key").strip() or None,
        "numbers": [line.strip() for line in posted.get("numbers").splitlines() if line.strip()],
        "time_zone": posted.get("time_zone").strip(),
        "quiet_hours": {"start": posted.get("quiet_start")[:5], "end": posted.get("quiet_end")[:5]},
        "smart_encoding": posted.checked("smart_encoding"),
    }
    # The secret is never shown back, so an empty box means "keep the saved one".
    if posted.get("flowroute_secret_key").strip():
        changes["flowroute_secret_key"] = posted.get("flowroute_secret_key").strip()
    try:
        body = validated(ShopUpdate, changes, messages={
            "quiet_hours.start": "Use a time like 21:00", "quiet_hours.end": "Use a time like 08:00"})
        shops.do_update_shop(ctx, posted.staff.shop.id, body.model_dump(exclude_unset=True))
    except ValidationFailed as exc:
        values = {k: v for k, v in posted.form.items() if k != "flowroute_secret_key"}
        return _settings_page(request, ctx, posted.staff, errors=field_errors(exc), values=values, status=422)
    return flash(ctx, see_other("/settings"), "Settings saved.")


@router.post("/settings/api-keys")
def create_api_key(request: Request, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    try:
        key, secret = api_keys.do_create_key(ctx, posted.staff.shop.id, posted.get("key_name"))
    except ValidationFailed as exc:
        return _settings_page(request, ctx, posted.staff, status=422, values={"key_name": posted.get("key_name")},
                              errors={"key_name": exc.errors[0].message})
    # Shown on this page only, never put in a cookie or a redirect: the secret is seen once.
    return _settings_page(request, ctx, posted.staff, new_key={"name": key.name, "key": secret})


@router.post("/settings/api-keys/{key_id:id}/revoke")
def revoke_api_key(key_id: Id, posted: PostedDep, ctx: ContextDep) -> Response:
    posted.staff.require_owner()
    response = see_other("/settings")
    try:
        key = api_keys.do_revoke_key(ctx, posted.staff.shop.id, key_id)
    except Conflict as exc:
        message = str(exc)
        return flash(ctx, response, message[:1].upper() + message[1:] + ".", "error")
    return flash(ctx, response, f"Revoked the key “{key.name}”. It no longer works anywhere.")

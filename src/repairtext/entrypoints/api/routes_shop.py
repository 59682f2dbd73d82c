"""The shop, its credits and its usage report."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.entrypoints.api.deps import ContextDep, SessionDep, ShopDep
from repairtext.entrypoints.api.idempotent import IdempotencyKeyDep, answer_once
from repairtext.entrypoints.api.schemas import AddonPurchasePublic, CreditsPublic, ShopUpdate
from repairtext.entrypoints.api.views import shop_view
from repairtext.services import credits, reports, shops

router = APIRouter(prefix="/api/v1", tags=["shop"])


@router.get("/shop")
def get_shop(shop: ShopDep, ctx: ContextDep) -> dict:
    return shop_view(shop, ctx.settings.public_url)


@router.patch("/shop")
def patch_shop(body: ShopUpdate, shop: ShopDep, ctx: ContextDep) -> dict:
    changes = body.model_dump(exclude_unset=True)
    updated = shops.do_update_shop(ctx, shop.id, changes)
    return shop_view(updated, ctx.settings.public_url)


@router.get("/credits", response_model=CreditsPublic)
def get_credits(shop: ShopDep, ctx: ContextDep, session: SessionDep) -> dict:
    s = credits.summary(ctx, session, must_get(session, Shop, shop.id))
    return {**s.__dict__, "total_remaining": s.total_remaining, "low_credit_alert": s.low_credit_alert is not None,
            "addon_pack_credits": ctx.catalog.addon.credits, "addon_pack_price_cents": ctx.catalog.addon.price_cents}


@router.post("/credits/addons", status_code=201, response_model=AddonPurchasePublic)
def buy_addon(shop: ShopDep, ctx: ContextDep, request: Request,
              idempotency_key: IdempotencyKeyDep = None) -> JSONResponse:
    """Send an `Idempotency-Key` header to make a retry safe: the same key never buys twice."""
    def work(session) -> dict:
        purchase = credits.buy_addon(ctx, session, shop.id)
        return {"id": purchase.id, "credits": purchase.credits, "price_cents": purchase.price_cents,
                "created_at": purchase.created_at}

    return answer_once(ctx, request, shop.id, idempotency_key, None, 201, AddonPurchasePublic, work)


@router.get("/reports/consumables")
def consumables(shop: ShopDep, ctx: ContextDep, session: SessionDep,
                from_: date | None = Query(default=None, alias="from"), to: date | None = None,
                format: str = Query(default="json", pattern="^(json|csv)$")):
    report = reports.consumables(ctx, session, must_get(session, Shop, shop.id), from_, to)
    if format == "json":
        return report
    return Response(reports.csv_text(report), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'})

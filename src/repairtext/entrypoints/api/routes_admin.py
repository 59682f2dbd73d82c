"""The platform operator's endpoints, behind REPAIRTEXT_ADMIN_TOKEN (absent token: the endpoints do not exist)."""

from __future__ import annotations

import hmac
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import Field
from sqlalchemy import select

from repairtext.adapters.db.models import CreditBalance, Shop
from repairtext.domain.rate_limits import ADMIN_TOKEN_ADDRESS
from repairtext.entrypoints.api.deps import ContextDep, client_address
from repairtext.entrypoints.api.schemas import Id, Strict
from repairtext.services import credits, rate_limits, shops

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def require_operator(request: Request, ctx: ContextDep) -> None:
    token = ctx.settings.admin_token
    if not token:
        raise HTTPException(404, "Not Found")
    by_address = (ADMIN_TOKEN_ADDRESS, client_address(request))
    rate_limits.check(ctx, by_address)
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        rate_limits.record_failure(ctx, by_address)
        raise HTTPException(401, "send the operator token as 'Authorization: Bearer <REPAIRTEXT_ADMIN_TOKEN>'")


Operator = Annotated[None, Depends(require_operator)]


class ShopCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    plan: str = Field(max_length=40)
    numbers: list[str] = Field(min_length=1, max_length=20)
    time_zone: str = Field(default="America/New_York", max_length=64)
    started: date | None = None


class RolloverIn(Strict):
    at: datetime


class NumberIn(Strict):
    number: str = Field(min_length=1, max_length=40)


@router.post("/shops", status_code=201)
def create_shop(body: ShopCreate, _: Operator, ctx: ContextDep) -> dict:
    new = shops.do_create_shop(ctx, name=body.name, plan=body.plan, numbers=body.numbers,
                               time_zone=body.time_zone, started=body.started)
    return {"id": new.shop.id, "name": new.shop.name, "plan": new.shop.plan, "api_key": new.api_key,
            "flowroute_token": new.shop.flowroute_token, "numbers": [n.e164 for n in new.shop.numbers]}


@router.post("/shops/{shop_id}/numbers", status_code=201)
def assign_number(shop_id: Id, body: NumberIn, _: Operator, ctx: ContextDep) -> dict:
    """Put a number of the platform's Twilio account on a shop (only the operator may)."""
    shop = shops.do_assign_platform_number(ctx, shop_id, body.number)
    return {"id": shop.id, "numbers": [{"number": n.e164, "provider": n.provider} for n in shop.numbers]}


@router.delete("/shops/{shop_id}/numbers/{number}")
def release_number(shop_id: Id, number: str, _: Operator, ctx: ContextDep) -> dict:
    shop = shops.do_release_number(ctx, shop_id, number)
    return {"id": shop.id, "numbers": [{"number": n.e164, "provider": n.provider} for n in shop.numbers]}


@router.get("/shops")
def list_shops(_: Operator, ctx: ContextDep) -> list[dict]:
    with ctx.db.transaction() as session:
        rows = session.execute(select(Shop, CreditBalance).join(CreditBalance, CreditBalance.shop_id == Shop.id)
                               .order_by(Shop.id)).all()
        return [{"id": s.id, "name": s.name, "plan": s.plan, "provider": s.provider, "time_zone": s.time_zone,
                 "credits_month": b.month, "monthly_remaining": b.monthly_remaining,
                 "addon_remaining": b.addon_remaining} for s, b in rows]


@router.post("/credits/rollover")
def rollover(body: RolloverIn, _: Operator, ctx: ContextDep) -> dict:
    if body.at.tzinfo is None:
        raise HTTPException(422, "'at' needs a UTC offset")
    return {"rolled_shops": credits.do_rollover(ctx, body.at)}


@router.get("/credits/check")
def check(_: Operator, ctx: ContextDep) -> dict:
    problems = credits.check_ledger(ctx)
    return {"ok": not problems, "problems": problems}

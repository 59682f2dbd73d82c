"""The shop's API keys: list, create (the secret shown once), revoke (at once, in every process)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from repairtext.adapters.db.models import ApiKey
from repairtext.entrypoints.api.deps import ContextDep, SessionDep, ShopDep
from repairtext.entrypoints.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from repairtext.services import api_keys

router = APIRouter(prefix="/api/v1/shop/api-keys", tags=["shop"])


def key_view(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "prefix": f"{api_keys.API_KEY_PREFIX}{key.prefix}",
            "created_at": key.created_at, "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


@router.get("", response_model=list[ApiKeyPublic])
def list_keys(shop: ShopDep, session: SessionDep) -> list[dict]:
    return [key_view(k) for k in api_keys.list_keys(session, shop.id)]


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, shop: ShopDep, ctx: ContextDep) -> dict:
    key, secret = api_keys.do_create_key(ctx, shop.id, body.name)
    return {**key_view(key), "key": secret}


@router.delete("/{key_id}", status_code=204, responses={409: {"description": "the shop's last working key"}})
def revoke_key(key_id: int, shop: ShopDep, ctx: ContextDep) -> Response:
    """Revoking a revoked key is a no-op (204); the shop's last working key answers 409."""
    api_keys.do_revoke_key(ctx, shop.id, key_id)
    return Response(status_code=204)

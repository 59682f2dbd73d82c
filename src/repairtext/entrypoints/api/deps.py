"""What a route needs, given to it: the context, a session, the calling shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop
from repairtext.bootstrap import Context
from repairtext.services.shops import shop_for_api_key


async def get_context(request: Request) -> Context:
    # async: a sync dependency would cost a thread-pool hop on every request, webhooks included.
    return request.app.state.ctx


ContextDep = Annotated[Context, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """A read session for GET-style routes (routes that change state open ctx.db.transaction() themselves)."""
    with ctx.db.reading() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_shop(request: Request, ctx: ContextDep) -> Shop:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "send your shop's API key as 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    with ctx.db.transaction() as session:
        shop = shop_for_api_key(session, token.strip())
        if shop is None:
            raise HTTPException(401, "that API key is not valid (it may have been revoked)",
                                headers={"WWW-Authenticate": "Bearer"})
        _ = shop.numbers
    return shop


ShopDep = Annotated[Shop, Depends(current_shop)]

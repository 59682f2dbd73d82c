"""What a route needs, given to it: the context, a session, the calling shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from repairtext.adapters.db.models import Shop
from repairtext.bootstrap import Context
from repairtext.domain.rate_limits import API_KEY_ADDRESS
from repairtext.domain.staff import Author
from repairtext.services import api_keys, rate_limits


async def get_context(request: Request) -> Context:
    # async: a sync dependency would cost a thread-pool hop on every request, webhooks included.
    return request.app.state.ctx


ContextDep = Annotated[Context, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """A read session for GET-style routes (routes that change state open ctx.db.transaction() themselves)."""
    with ctx.db.reading() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    # uvicorn puts the X-Forwarded-For address here when the request came through a trusted proxy
    # (FORWARDED_ALLOW_IPS), so a limit per address limits the client, not the proxy.
    return request.client.host if request.client else "unknown"


def current_shop(request: Request, ctx: ContextDep) -> Shop:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "send your shop's API key as 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    # Checked before the key: a blocked address learns nothing, not even that a guess was right.
    by_address = (API_KEY_ADDRESS, client_address(request))
    rate_limits.check(ctx, by_address)
    found = api_keys.authenticate(ctx, token)
    if found is None:
        rate_limits.record_failure(ctx, by_address)
        raise HTTPException(401, "that API key is not valid (it may have been revoked)",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.api_key_name = found[1].name
    return found[0]


def api_author(request: Request) -> Author:
    """What a comment made through the API is signed with: the name of the key (say, "Front desk app")."""
    return Author("staff", getattr(request.state, "api_key_name", "API"))


ShopDep = Annotated[Shop, Depends(current_shop)]

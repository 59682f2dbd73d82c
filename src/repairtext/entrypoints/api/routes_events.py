"""GET /api/v1/events: the shop's events as server-sent events, as they commit in any server process.

Each stream is bounded: a queue of its own (a client that falls behind is cut off and resumes with
Last-Event-ID), a keep-alive comment every few seconds (proxies drop silent connections), a lifetime after which
it closes and the browser's EventSource reconnects, and a cap on streams per shop and per process.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from repairtext.adapters.db.models import Shop
from repairtext.adapters.event_hub import CLOSE, RESYNC, LiveEvent
from repairtext.bootstrap import Context
from repairtext.entrypoints.api.deps import ContextDep, current_shop
from repairtext.services import events

router = APIRouter(prefix="/api/v1", tags=["events"])

STREAMS_PER_SHOP = 50
CATCH_UP_LIMIT = 5000  # a client further behind than this reloads instead (it gets `event: resync`)
REMEMBERED = 2000       # ids already sent, so a catch-up and the live feed never send one twice


def sse(event: LiveEvent) -> str:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(event.data(), separators=(',', ':'))}\n\n"


def stream_shop(request: Request, ctx: ContextDep) -> Shop:
    """An integration sends its API key; the staff pages' EventSource sends the signed-in session's cookie (an
    EventSource cannot set headers). Both name exactly one shop."""
    if request.headers.get("authorization"):
        return current_shop(request, ctx)
    from repairtext.entrypoints.web import auth

    try:
        return auth.current_staff(request, ctx).shop
    except auth.SignInRequired:
        raise HTTPException(401, "send your shop's API key as 'Authorization: Bearer <key>', or sign in",
                            headers={"WWW-Authenticate": "Bearer"}) from None


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}})
async def stream_events(ctx: ContextDep, shop: Shop = Depends(stream_shop),
                        last_event_id: str | None = Header(default=None)):
    if ctx.events.streams(shop.id) >= STREAMS_PER_SHOP:
        raise HTTPException(429, f"at most {STREAMS_PER_SHOP} event streams per shop; close one",
                            headers={"Retry-After": "5"})
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() and len(last_event_id) < 19 else None
    return StreamingResponse(event_stream(ctx, shop.id, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def event_stream(ctx: Context, shop_id: int, after: int | None) -> AsyncIterator[str]:
    subscription = ctx.events.subscribe(shop_id)  # before the catch-up, so nothing falls between the two
    sent: deque[int] = deque(maxlen=REMEMBERED)
    last = after
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.event_stream_lifetime
    try:
        yield "retry: 2000\n\n"
        if last is None:  # a new stream starts from now; a resync later reads from here
            last = await run_in_threadpool(events.newest_id, ctx, shop_id)
        else:
            async for chunk in _catch_up(ctx, shop_id, last, sent):
                yield chunk
            last = max(sent, default=last)
        while loop.time() < deadline and not subscription.overflowed:
            try:
                item = await asyncio.wait_for(subscription.queue.get(), ctx.event_keepalive)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is CLOSE:
                return
            if item is RESYNC:
                async for chunk in _catch_up(ctx, shop_id, last, sent):
                    yield chunk
                last = max(sent, default=last)
            elif isinstance(item, LiveEvent) and item.id not in sent:
                sent.append(item.id)
                last = max(last, item.id)
                yield sse(item)
    finally:
        ctx.events.unsubscribe(subscription)


async def _catch_up(ctx: Context, shop_id: int, after: int, sent: deque[int]) -> AsyncIterator[str]:
    read = 0
    while read < CATCH_UP_LIMIT:
        page = await run_in_threadpool(events.since, ctx, shop_id, after)
        for event in page:
            if event.id not in sent:
                sent.append(event.id)
                yield sse(event)
        read += len(page)
        if len(page) < events.CATCH_UP_PAGE:
            return
        after = page[-1].id
    yield "event: resync\ndata: {}\n\n"

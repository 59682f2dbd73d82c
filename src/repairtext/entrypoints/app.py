"""The ASGI app: API, webhooks, staff pages and portal; with REPAIRTEXT_WORKER=inline, the worker too."""

from __future__ import annotations

import importlib
import logging
import threading
from contextlib import asynccontextmanager
from types import ModuleType

from fastapi import FastAPI

from repairtext import __version__
from repairtext.bootstrap import Context
from repairtext.entrypoints import ops, security, webhooks
from repairtext.entrypoints.api import (
    problems,
    routes_admin,
    routes_api_keys,
    routes_desk,
    routes_events,
    routes_inbox,
    routes_shop,
    routes_texts,
    routes_tickets,
)
from repairtext.entrypoints.body_limit import BodyLimit

log = logging.getLogger("repairtext")


def create_app(ctx: Context, *, inline_worker: bool | None = None) -> FastAPI:
    run_worker = ctx.settings.worker == "inline" if inline_worker is None else inline_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        thread = None
        if run_worker:
            from repairtext.services.worker import Worker

            worker = Worker(ctx, name="inline")
            thread = threading.Thread(target=worker.run_forever, args=(stop,), name="inline-worker", daemon=True)
            thread.start()
        yield
        ctx.events.close()  # open event streams end, so shutting down does not wait on them
        stop.set()
        ctx.work_queued.set()
        if thread is not None:
            thread.join(timeout=10)

    app = FastAPI(title="repairtext", version=__version__, lifespan=lifespan,
                  description="Two-way SMS and MMS for a repair shop's ticket desk.")
    app.state.ctx = ctx
    app.add_middleware(BodyLimit)  # 413 over 1 MiB, before any parsing or authentication
    problems.install(app)
    # Routes are matched in order: the webhooks, called for every text in and every receipt, come first.
    app.include_router(webhooks.router)
    app.include_router(routes_shop.router)
    app.include_router(routes_api_keys.router)
    app.include_router(routes_tickets.router)
    app.include_router(routes_texts.router)
    app.include_router(routes_inbox.router)
    app.include_router(routes_events.router)
    app.include_router(routes_desk.router)
    app.include_router(routes_admin.router)
    try:
        pages: ModuleType | None = importlib.import_module("repairtext.entrypoints.web.pages")
    except ImportError:  # the staff pages are optional for API-only deployments
        pages = None
    if pages is not None and hasattr(pages, "install"):
        pages.install(app)
    _install_security(app, ctx)
    ops.install(app, ctx)
    return app


def _install_security(app: FastAPI, ctx: Context) -> None:
    """Security headers on every response, 429 for secret guessers, no secrets in logs (entrypoints/security.py)."""
    security.install(app, ctx.settings)

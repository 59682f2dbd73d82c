"""The ASGI app: API, webhooks, staff pages and portal; with REPAIRTEXT_WORKER=inline, the worker too."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI

from repairtext import __version__
from repairtext.bootstrap import Context
from repairtext.entrypoints import webhooks
from repairtext.entrypoints.api import problems, routes_admin, routes_shop, routes_texts, routes_tickets

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
        stop.set()
        ctx.work_queued.set()
        if thread is not None:
            thread.join(timeout=10)

    app = FastAPI(title="repairtext", version=__version__, lifespan=lifespan,
                  description="Two-way SMS and MMS for a repair shop's ticket desk.")
    app.state.ctx = ctx
    problems.install(app)
    # Routes are matched in order: the webhooks, called for every text in and every receipt, come first.
    app.include_router(webhooks.router)
    app.include_router(routes_shop.router)
    app.include_router(routes_tickets.router)
    app.include_router(routes_texts.router)
    app.include_router(routes_admin.router)
    try:
        from repairtext.entrypoints.web import pages
    except ImportError:  # the staff pages are optional for API-only deployments
        pages = None
    if pages is not None and hasattr(pages, "install"):
        pages.install(app)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"ok": True, "version": __version__}

    return app

"""Errors as application/problem+json (RFC 9457): status, title, detail and, for validation, the fields."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from repairtext.domain.errors import (
    AddonsNotYetAvailable,
    Conflict,
    InsufficientCredits,
    NotFound,
    ValidationFailed,
)

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "status": status, "title": title, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM)


def _field_of(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_request_invalid(_request: Request, exc: RequestValidationError):
        errors = [{"field": _field_of(tuple(e["loc"])), "message": e["msg"].removeprefix("Value error, ")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(ValidationFailed)
    async def on_invalid(_request: Request, exc: ValidationFailed):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(422, "Invalid request", str(exc), errors=errors)

    @app.exception_handler(NotFound)
    async def on_not_found(_request: Request, exc: NotFound):
        return problem(404, "Not found", str(exc))

    @app.exception_handler(AddonsNotYetAvailable)
    async def on_addons_closed(_request: Request, exc: AddonsNotYetAvailable):
        return problem(409, "Add-ons not available yet", str(exc), available_from=exc.available_from.isoformat())

    @app.exception_handler(InsufficientCredits)
    async def on_no_credits(_request: Request, exc: InsufficientCredits):
        return problem(409, "Not enough credits", str(exc))

    @app.exception_handler(Conflict)
    async def on_conflict(_request: Request, exc: Conflict):
        return problem(409, "Conflict", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException):
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

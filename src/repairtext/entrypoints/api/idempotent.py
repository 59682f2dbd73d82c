"""Routes that text a customer or spend money answer through here: one transaction for the work and its
Idempotency-Key record (services/idempotency.py), and the answer built from that transaction's own rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from repairtext.bootstrap import Context
from repairtext.services import idempotency

IdempotencyKeyDep = Annotated[str | None, Header(
    alias=idempotency.HEADER, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="Any unique string (a UUID): a repeat with the same key within 24 hours answers the first "
                "result again and texts nobody again; the same key with another request answers 422.")]
REPLAYED = "Idempotent-Replayed"


def answer_once(ctx: Context, request: Request, shop_id: int, key: str | None, body: BaseModel | None,
                status: int, schema: type[BaseModel], work: Callable[[Session], dict[str, Any]]) -> JSONResponse:
    """`work(session)` does the change and returns the view; it is shaped by `schema` inside the transaction."""
    request_fingerprint = idempotency.fingerprint(request.method, request.url.path,
                                                  body.model_dump(mode="json") if body is not None else None)

    def run(session: Session) -> idempotency.Answer:
        return idempotency.Answer(status, schema.model_validate(work(session)).model_dump(mode="json"))

    answer = idempotency.do_once(ctx, shop_id, key, request_fingerprint, run)
    response = JSONResponse(answer.body, status_code=answer.status)
    if answer.replayed:
        response.headers[REPLAYED] = "true"
    return response

"""The triage inbox (texts no rule could place): listing, placing, dismissing, their pictures; and moving a
customer's text to another ticket."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response

from repairtext.entrypoints.api.deps import ContextDep, KeyNameDep, SessionDep, ShopDep
from repairtext.entrypoints.api.schemas import (
    AssignIn,
    AssignOut,
    CommentMoved,
    CommentMoveIn,
    DismissIn,
    Id,
    InboxText,
)
from repairtext.entrypoints.api.views import inbox_media_base, inbox_view
from repairtext.entrypoints.files import stored_media_response
from repairtext.services import comment_moves, inbox

router = APIRouter(prefix="/api/v1", tags=["inbox"])
MediaIndex = Annotated[int, Path(ge=0, le=99, description="the picture's place in the text, from 0")]


@router.get("/inbox", response_model=list[InboxText])
def list_inbox(shop: ShopDep, session: SessionDep, ctx: ContextDep,
               state: Literal["triage", "dismissed"] = "triage") -> list[dict]:
    """The inbox, oldest first; `state=dismissed`: the newest dismissed texts (at most 200)."""
    return [inbox_view(m, inbox_media_base(ctx.settings.public_url, m.id))
            for m in inbox.inbox_texts(session, shop.id, state)]


@router.post("/inbox/{message_id}/assign", response_model=AssignOut)
def assign(message_id: Id, body: AssignIn, shop: ShopDep, ctx: ContextDep, key_name: KeyNameDep) -> dict:
    message = inbox.do_assign(ctx, shop.id, message_id, body.ticket_id, link_customer=body.link_customer,
                              by=key_name)
    return {"id": message.id, "ticket_id": message.ticket_id, "comment_id": message.comment_id}


@router.post("/inbox/{message_id}/dismiss", status_code=204)
def dismiss(message_id: Id, body: DismissIn, shop: ShopDep, ctx: ContextDep, key_name: KeyNameDep) -> Response:
    inbox.do_dismiss(ctx, shop.id, message_id, body.reason, by=key_name)
    return Response(status_code=204)


@router.get("/inbox/{message_id}/media/{index}")
def inbox_picture(message_id: Id, index: MediaIndex, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> Response:
    return stored_media_response(ctx.blobs, inbox.stored_media(session, shop.id, message_id, index), False,
                                 cache="private, max-age=86400")


@router.get("/inbox/{message_id}/media/{index}/thumbnail")
def inbox_thumbnail(message_id: Id, index: MediaIndex, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> Response:
    return stored_media_response(ctx.blobs, inbox.stored_media(session, shop.id, message_id, index), True,
                                 cache="private, max-age=86400")


@router.post("/comments/{comment_id}/move", response_model=CommentMoved)
def move_comment(comment_id: Id, body: CommentMoveIn, shop: ShopDep, ctx: ContextDep, key_name: KeyNameDep) -> dict:
    """Move a customer's text (with its pictures) to another ticket of the shop."""
    moved = comment_moves.do_move_comment(ctx, shop.id, comment_id, body.ticket_id, by=key_name)
    return {"id": moved.comment_id, "ticket_id": moved.ticket_id, "from_ticket_id": moved.from_ticket_id}

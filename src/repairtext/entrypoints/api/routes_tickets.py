"""Customers, tickets, comments, attachments and messages."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from repairtext.adapters.db.models import Attachment, Message
from repairtext.entrypoints.api.deps import ContextDep, SessionDep, ShopDep, api_author
from repairtext.entrypoints.api.idempotent import IdempotencyKeyDep, answer_once
from repairtext.entrypoints.api.schemas import (
    CommentCreate,
    CommentPublic,
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    Id,
    MessagePublic,
    TicketCreate,
    TicketPublic,
    TicketUpdate,
)
from repairtext.entrypoints.api.views import comment_view, customer_view, message_view, ticket_view
from repairtext.entrypoints.files import attachment_response
from repairtext.services import customers, opt_outs, tickets

router = APIRouter(prefix="/api/v1", tags=["tickets"])


def _shown(session, c) -> dict:
    return customer_view(c, opt_outs.of_customers(session, [c]).get(c.id))


@router.post("/customers", status_code=201, response_model=CustomerPublic)
def create_customer(body: CustomerCreate, shop: ShopDep, ctx: ContextDep, session: SessionDep) -> dict:
    c = customers.do_create_customer(ctx, shop.id, name=body.name, email=body.email, sms_enabled=body.sms_enabled,
                                     phones=[p.model_dump() for p in body.phones])
    return _shown(session, c)


@router.get("/customers/{customer_id}", response_model=CustomerPublic)
def get_customer(customer_id: Id, shop: ShopDep, session: SessionDep) -> dict:
    return _shown(session, customers.get_customer(session, shop.id, customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerPublic)
def patch_customer(customer_id: Id, body: CustomerUpdate, shop: ShopDep, ctx: ContextDep, session: SessionDep) -> dict:
    changes = body.model_dump(exclude_unset=True)
    return _shown(session, customers.do_update_customer(ctx, shop.id, customer_id, changes))


@router.post("/tickets", status_code=201, response_model=TicketPublic)
def open_ticket(body: TicketCreate, shop: ShopDep, ctx: ContextDep, request: Request,
                idempotency_key: IdempotencyKeyDep = None) -> JSONResponse:
    def work(session) -> dict:
        t = tickets.open_ticket(ctx, session, shop.id, customer_id=body.customer_id, subject=body.subject,
                                problem=body.problem)
        return ticket_view(t, ctx.settings.public_url)

    return answer_once(ctx, request, shop.id, idempotency_key, body, 201, TicketPublic, work)


@router.get("/tickets/{ticket_id}", response_model=TicketPublic)
def get_ticket(ticket_id: Id, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> dict:
    return ticket_view(tickets.get_ticket(session, shop.id, ticket_id), ctx.settings.public_url)


@router.patch("/tickets/{ticket_id}", response_model=TicketPublic)
def patch_ticket(ticket_id: Id, body: TicketUpdate, shop: ShopDep, ctx: ContextDep, request: Request,
                 idempotency_key: IdempotencyKeyDep = None) -> JSONResponse:
    def work(session) -> dict:
        changes = body.model_dump(exclude_unset=True)
        ticket = tickets.update_ticket(ctx, session, shop.id, ticket_id, changes, by=api_author(request))
        return ticket_view(ticket, ctx.settings.public_url)

    return answer_once(ctx, request, shop.id, idempotency_key, body, 200, TicketPublic, work)


@router.post("/tickets/{ticket_id}/comments", status_code=201, response_model=CommentPublic)
def add_comment(ticket_id: Id, body: CommentCreate, shop: ShopDep, ctx: ContextDep, request: Request,
                idempotency_key: IdempotencyKeyDep = None) -> JSONResponse:
    def work(session) -> dict:
        # The answer comes from this transaction's own comment, never from a second read after the commit.
        comment = tickets.comment_on(ctx, session, shop.id, ticket_id, body=body.body, sms_body=body.sms_body,
                                     hidden=body.hidden, author=api_author(request))
        return comment_view(comment, ctx.settings.public_url)

    return answer_once(ctx, request, shop.id, idempotency_key, body, 201, CommentPublic, work)


@router.get("/tickets/{ticket_id}/comments", response_model=list[CommentPublic])
def list_comments(ticket_id: Id, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> list[dict]:
    return [comment_view(c, ctx.settings.public_url) for c in tickets.list_comments(session, shop.id, ticket_id)]


def _attachment(session, shop_id: int, attachment_id: int) -> Attachment | None:
    return session.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.shop_id == shop_id))


@router.get("/attachments/{attachment_id}")
def get_attachment(attachment_id: Id, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> Response:
    return attachment_response(ctx.blobs, _attachment(session, shop.id, attachment_id), False,
                               cache="private, max-age=86400")


@router.get("/attachments/{attachment_id}/thumbnail")
def get_thumbnail(attachment_id: Id, shop: ShopDep, session: SessionDep, ctx: ContextDep) -> Response:
    return attachment_response(ctx.blobs, _attachment(session, shop.id, attachment_id), True,
                               cache="private, max-age=86400")


@router.get("/messages", response_model=list[MessagePublic], response_model_by_alias=True)
def list_messages(shop: ShopDep, session: SessionDep, ticket_id: Id | None = None, customer_id: Id | None = None,
                  limit: int = Query(default=200, ge=1, le=1000)) -> list[dict]:
    query = (select(Message).options(selectinload(Message.events)).where(Message.shop_id == shop.id)
             .order_by(Message.id.desc()).limit(limit))
    if ticket_id is not None:
        query = query.where(Message.ticket_id == ticket_id)
    if customer_id is not None:
        query = query.where(Message.customer_id == customer_id)
    return [message_view(m) for m in session.scalars(query)]

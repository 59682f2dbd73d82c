"""The desk's lists through the API: tickets by last activity, customers by name; keyset cursors."""

from __future__ import annotations

from fastapi import APIRouter, Query

from repairtext.entrypoints.api.deps import ContextDep, SessionDep, ShopDep
from repairtext.entrypoints.api.schemas import CustomerPage, TicketPage
from repairtext.entrypoints.api.views import customer_view, ticket_view
from repairtext.services import desk, opt_outs

router = APIRouter(prefix="/api/v1", tags=["tickets"])


@router.get("/tickets", response_model=TicketPage)
def list_tickets(shop: ShopDep, session: SessionDep, ctx: ContextDep,
                 q: str | None = Query(None, max_length=100, description="#number, subject, customer name or phone"),
                 status: str | None = Query(None, max_length=60), open: bool | None = None,
                 needs_reply: bool | None = None, customer_id: int | None = Query(None, ge=1, le=2**63 - 1),
                 limit: int = Query(desk.DEFAULT_PAGE, ge=1, le=desk.MAX_PAGE),
                 cursor: str | None = Query(None, max_length=200)) -> dict:
    page = desk.list_tickets(session, shop.id, desk.TicketFilter(q=q, status=status, open=open, needs_reply=needs_reply,
                                                                 customer_id=customer_id),
                             limit=limit, cursor=cursor, region=shop.country)
    return {"items": [dict(ticket_view(t, ctx.settings.public_url), customer_name=t.customer.name) for t in page.items],
            "next_cursor": page.next_cursor}


@router.get("/customers", response_model=CustomerPage)
def list_customers(shop: ShopDep, session: SessionDep, q: str | None = Query(None, max_length=100),
                   limit: int = Query(desk.DEFAULT_PAGE, ge=1, le=desk.MAX_PAGE),
                   cursor: str | None = Query(None, max_length=200)) -> dict:
    page = desk.list_customers(session, shop.id, q, limit=limit, cursor=cursor, region=shop.country)
    opted_out = opt_outs.of_customers(session, page.items)
    return {"items": [customer_view(c, opted_out.get(c.id)) for c in page.items], "next_cursor": page.next_cursor}

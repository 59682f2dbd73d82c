"""The customer portal of one ticket, reached by its secret link: status, public comments, public pictures."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from repairtext.adapters.db.models import Shop
from repairtext.adapters.db.rows import must_get
from repairtext.domain.errors import NotFound
from repairtext.domain.rate_limits import PORTAL_TOKEN_ADDRESS
from repairtext.entrypoints.api.deps import ContextDep, client_address
from repairtext.entrypoints.api.schemas import Id
from repairtext.entrypoints.api.views import attachment_view, comment_view, ticket_view
from repairtext.entrypoints.files import attachment_response
from repairtext.entrypoints.web import queries
from repairtext.entrypoints.web.rendering import page
from repairtext.services import rate_limits, tickets

router = APIRouter(include_in_schema=False)


def _guard(ctx, request: Request) -> tuple:
    """The portal's link is its password: a client that keeps missing is scanning for links (TooManyAttempts)."""
    by_address = (PORTAL_TOKEN_ADDRESS, client_address(request))
    rate_limits.check(ctx, by_address)
    return by_address


@router.get("/p/{token}")
@router.get("/portal/{token}")
def portal(request: Request, token: str, ctx: ContextDep) -> Response:
    by_address = _guard(ctx, request)
    with ctx.db.reading() as session:
        ticket = queries.ticket_for_portal(session, token)
        if ticket is None:
            rate_limits.record_failure(ctx, by_address)
            raise NotFound("no such ticket")
        shop = must_get(session, Shop, ticket.shop_id)
        url = ctx.settings.public_url
        # "You" only for a text known to be this ticket's customer's; any other sender is shown by number.
        comments = [dict(comment_view(c, url), attachments=[attachment_view(a, url) for a in c.attachments if a.public],
                         by_you=c.author == "customer" and c.author_customer_id == ticket.customer_id)
                    for c in tickets.list_comments(session, ticket.shop_id, ticket.id, public_only=True)]
        view = ticket_view(ticket, url)
    return page(request, "portal.html", portal=True, tz=shop.time_zone, shop_name=shop.name, token=token,
                ticket=view, comments=comments)


def _portal_file(ctx, request: Request, token: str, attachment_id: int, thumbnail: bool) -> Response:
    by_address = _guard(ctx, request)
    with ctx.db.reading() as session:
        ticket = queries.ticket_for_portal(session, token)
        a = queries.portal_attachment(session, ticket, attachment_id) if ticket is not None else None
    if ticket is None:
        rate_limits.record_failure(ctx, by_address)
    return attachment_response(ctx.blobs, a, thumbnail, cache="private, max-age=3600",
                               extra_headers={"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})


@router.get("/p/{token}/attachments/{attachment_id:id}")
@router.get("/portal/{token}/attachments/{attachment_id:id}")
def portal_attachment(request: Request, token: str, attachment_id: Id, ctx: ContextDep) -> Response:
    return _portal_file(ctx, request, token, attachment_id, thumbnail=False)


@router.get("/p/{token}/attachments/{attachment_id:id}/thumbnail")
@router.get("/portal/{token}/attachments/{attachment_id:id}/thumbnail")
def portal_thumbnail(request: Request, token: str, attachment_id: Id, ctx: ContextDep) -> Response:
    return _portal_file(ctx, request, token, attachment_id, thumbnail=True)

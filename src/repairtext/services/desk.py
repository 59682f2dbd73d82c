"""The desk's lists: tickets by last activity (filters, search, keyset cursors) and customers by name.

Made for a shop with 100,000 tickets: every list is an indexed query whose cost depends on the page, not the
shop (a search is read the way services/desk_search.py decides: from its matches' ids, or walking the list).
Cursors are keyset positions (the last row's sort key), so page 500 costs what page 1 costs and a ticket that
moves while someone pages never makes a row appear twice or vanish between pages.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db import text_search
from repairtext.adapters.db.models import Customer, Ticket
from repairtext.domain import tickets as ticket_rules
from repairtext.domain.errors import ValidationFailed
from repairtext.domain.search import parse_query
from repairtext.services.desk_search import Match, customer_match, ticket_match

DEFAULT_PAGE, MAX_PAGE = 50, 200


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


@dataclass(frozen=True)
class TicketFilter:
    q: str | None = None
    status: str | None = None
    open: bool | None = None
    needs_reply: bool | None = None
    customer_id: int | None = None


def _encode(*key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    """A cursor is (sort value, id), as _encode wrote it; anything else is refused, naming the field."""
    try:
        value, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(value, str) and isinstance(last_id, int) and 0 < last_id < 2**63:
            return value, last_id
    except (ValueError, TypeError):
        pass
    raise ValidationFailed.on("cursor", "not a cursor this list gave out; start again without it")


def _page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed.on("limit", f"must be between 1 and {MAX_PAGE}")
    return limit


def list_tickets(session: Session, shop_id: int, wanted: TicketFilter, *, limit: int | None = None,
                 cursor: str | None = None, region: str = "US") -> Page:
    size = _page_size(limit)
    match = _search(session, shop_id, wanted, region)
    query = _filtered(_searched(select(Ticket).options(selectinload(Ticket.customer)), Ticket.id, Ticket.shop_id,
                                shop_id, match, walk=match is not None and match.dense), wanted)
    if cursor:
        at, last_id = _decode(cursor)
        query = query.where(or_(Ticket.last_activity_at < _as_datetime(at),
                                and_(Ticket.last_activity_at == _as_datetime(at), Ticket.id < last_id)))
    rows = list(session.scalars(query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, _encode(rows[-1].last_activity_at.isoformat(), rows[-1].id) if more else None)


def _search(session: Session, shop_id: int, wanted: TicketFilter, region: str) -> Match | None:
    terms = parse_query(wanted.q, region)
    return None if terms is None else ticket_match(session, shop_id, terms)


def _filtered(query, wanted: TicketFilter):
    if wanted.status:
        query = query.where(Ticket.status == wanted.status)
    if wanted.open is not None:
        closed = Ticket.status.in_(ticket_rules.CLOSED_STATUSES)
        query = query.where(~closed if wanted.open else closed)
    if wanted.needs_reply is not None:
        query = query.where(Ticket.needs_reply.is_(wanted.needs_reply))
    if wanted.customer_id is not None:
        query = query.where(Ticket.customer_id == wanted.customer_id)
    return query


def _searched(query, id_column, shop_column, shop_id: int, match: Match | None, *, walk: bool):
    """`query` on the shop's rows that `match` selects: walking the list's index with its rule; or its ids, each
    looked up (no index of the list may be walked instead: text_search.unindexed), found or from the indexes."""
    if match is None:
        return query.where(shop_column == shop_id)
    if walk:
        return query.where(shop_column == shop_id, match.rule)
    in_shop = text_search.unindexed(shop_column, match.dialect) == shop_id
    if match.ids is not None:
        return query.where(id_column.in_(sorted(match.ids)), in_shop)
    ids = match.indexed.subquery()
    return query.select_from(ids).join(id_column.table, id_column == ids.c[0]).where(in_shop)


COUNT_UP_TO = 1000
# A filter that selects fewer tickets than this is walked, checking a search's rule, to count what a search with
# many matches finds in it; a broader one is counted from the search's ids, which meet it soon.
NARROW = 5000


def count_tickets(session: Session, shop_id: int, wanted: TicketFilter, region: str = "US") -> int:
    """How many tickets the filter selects (the list's "51-100 of N"), counted up to COUNT_UP_TO + 1 so the
    count costs what a page costs whatever the shop's size (the page says "1,000+")."""
    match = _search(session, shop_id, wanted, region)
    filters = _filtered(select(Ticket.id).where(Ticket.shop_id == shop_id), wanted)
    walk = False
    if match is not None and match.dense:
        if not _filters_anything(wanted):
            return COUNT_UP_TO + 1  # the search alone matches more than that, and its index said so
        walk = _count(session, filters, NARROW) < NARROW
    matching = _filtered(_searched(select(Ticket.id), Ticket.id, Ticket.shop_id, shop_id, match, walk=walk), wanted)
    return _count(session, matching, COUNT_UP_TO + 1)


def _filters_anything(wanted: TicketFilter) -> bool:
    return bool(wanted.status) or any(v is not None for v in (wanted.open, wanted.needs_reply, wanted.customer_id))


def _count(session: Session, query, up_to: int) -> int:
    return session.scalar(select(func.count()).select_from(query.limit(up_to).subquery())) or 0


def needs_reply_count(session: Session, shop_id: int) -> int:
    return session.scalar(select(func.count(Ticket.id)).where(Ticket.shop_id == shop_id,
                                                              Ticket.needs_reply.is_(True))) or 0


def list_customers(session: Session, shop_id: int, q: str | None = None, *, limit: int | None = None,
                   cursor: str | None = None, region: str = "US") -> Page:
    size = _page_size(limit)
    terms = parse_query(q, region)
    match = None if terms is None else customer_match(session, shop_id, terms)
    query = _searched(select(Customer).options(selectinload(Customer.phones)), Customer.id, Customer.shop_id, shop_id,
                      match, walk=match is not None and match.dense)
    if cursor:
        name, last_id = _decode(cursor)
        query = query.where(or_(Customer.name > name, and_(Customer.name == name, Customer.id > last_id)))
    rows = list(session.scalars(query.order_by(Customer.name, Customer.id).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, _encode(rows[-1].name, rows[-1].id) if more else None)


def _as_datetime(value) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed.on("cursor", "not a cursor this list gave out; start again without it") from None

"""The desk's lists: tickets by last activity (filters, search, keyset cursors) and customers by name.

Made for a shop with 100,000 tickets: every list is one indexed query whose cost depends on the page, not the
shop. Cursors are keyset positions (the last row's sort key), so page 500 costs what page 1 costs and a ticket
that moves while someone pages never makes a row appear twice or vanish between pages.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.orm import Session, selectinload

from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain import tickets as ticket_rules
from repairtext.domain.errors import ValidationFailed
from repairtext.domain.search import SearchTerms, like_pattern, parse_query

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


def _contains(column, text: str, sqlite: bool):
    """Case-insensitive substring match. SQLite's LIKE already ignores ASCII case, and its ILIKE is lower() on
    both sides, which costs a function call a row (4x the scan); PostgreSQL's ILIKE uses the trigram index."""
    pattern = like_pattern(text)
    return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern, escape="\\")


def _matching_tickets(shop_id: int, terms: SearchTerms, sqlite: bool):
    """Ids of the shop's tickets the search matches, as a union of indexed look-ups."""
    parts = []
    if terms.text is not None:
        parts += [
            select(Ticket.id).where(Ticket.shop_id == shop_id, _contains(Ticket.subject, terms.text, sqlite)),
            select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.customer_id.in_(
                select(Customer.id).where(Customer.shop_id == shop_id, _contains(Customer.name, terms.text, sqlite)))),
        ]
    if terms.ticket_number is not None:
        parts.append(select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.number == terms.ticket_number))
    if terms.phone is not None:
        parts.append(select(Ticket.id).join(CustomerPhone, CustomerPhone.customer_id == Ticket.customer_id)
                     .where(Ticket.shop_id == shop_id, CustomerPhone.shop_id == shop_id, CustomerPhone.e164 == terms.phone))
    return union(*parts).subquery()


def list_tickets(session: Session, shop_id: int, wanted: TicketFilter, *, limit: int | None = None,
                 cursor: str | None = None, region: str = "US") -> Page:
    size = _page_size(limit)
    query = _filtered(select(Ticket).options(selectinload(Ticket.customer)).where(Ticket.shop_id == shop_id),
                      shop_id, wanted, region, _is_sqlite(session))
    if cursor:
        at, last_id = _decode(cursor)
        query = query.where(or_(Ticket.last_activity_at < _as_datetime(at),
                                and_(Ticket.last_activity_at == _as_datetime(at), Ticket.id < last_id)))
    rows = list(session.scalars(query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, _encode(rows[-1].last_activity_at.isoformat(), rows[-1].id) if more else None)


def _filtered(query, shop_id: int, wanted: TicketFilter, region: str, sqlite: bool = False):
    if wanted.status:
        query = query.where(Ticket.status == wanted.status)
    if wanted.open is not None:
        closed = Ticket.status.in_(ticket_rules.CLOSED_STATUSES)
        query = query.where(~closed if wanted.open else closed)
    if wanted.needs_reply is not None:
        query = query.where(Ticket.needs_reply.is_(wanted.needs_reply))
    if wanted.customer_id is not None:
        query = query.where(Ticket.customer_id == wanted.customer_id)
    terms = parse_query(wanted.q, region)
    if terms is not None:
        query = query.where(Ticket.id.in_(select(_matching_tickets(shop_id, terms, sqlite).c.id)))
    return query


COUNT_UP_TO = 1000


def count_tickets(session: Session, shop_id: int, wanted: TicketFilter, region: str = "US") -> int:
    """How many tickets the filter selects (the list's "51-100 of N"), counted up to COUNT_UP_TO + 1 so the
    count costs what a page costs whatever the shop's size (the page says "1,000+")."""
    matching = _filtered(select(Ticket.id).where(Ticket.shop_id == shop_id), shop_id, wanted, region,
                         _is_sqlite(session))
    return session.scalar(select(func.count()).select_from(matching.limit(COUNT_UP_TO + 1).subquery())) or 0


def needs_reply_count(session: Session, shop_id: int) -> int:
    return session.scalar(select(func.count(Ticket.id)).where(Ticket.shop_id == shop_id,
                                                              Ticket.needs_reply.is_(True))) or 0


def list_customers(session: Session, shop_id: int, q: str | None = None, *, limit: int | None = None,
                   cursor: str | None = None, region: str = "US") -> Page:
    size = _page_size(limit)
    query = select(Customer).options(selectinload(Customer.phones)).where(Customer.shop_id == shop_id)
    terms = parse_query(q, region)
    if terms is not None:
        matches = []
        if terms.text is not None:
            matches.append(_contains(Customer.name, terms.text, _is_sqlite(session)))
        if terms.phone is not None:
            matches.append(Customer.id.in_(select(CustomerPhone.customer_id).where(
                CustomerPhone.shop_id == shop_id, CustomerPhone.e164 == terms.phone)))
        query = query.where(or_(*matches)) if matches else query.where(Customer.id.is_(None))
    if cursor:
        name, last_id = _decode(cursor)
        query = query.where(or_(Customer.name > name, and_(Customer.name == name, Customer.id > last_id)))
    rows = list(session.scalars(query.order_by(Customer.name, Customer.id).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, _encode(rows[-1].name, rows[-1].id) if more else None)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _as_datetime(value) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed.on("cursor", "not a cursor this list gave out; start again without it") from None

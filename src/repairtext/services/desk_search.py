"""How a search of the desk's lists is read, on SQLite and PostgreSQL alike, so that a page costs about the same
in a shop of 1,000 tickets and of 100,000.

A page is 50 rows in list order (tickets by last activity, customers by name). The indexes
(adapters/db/text_search.py) are asked first for the ids they hold for the search, DENSE at most from each:
tickets by number and subject, customers by phone and name. When each has fewer, these are all the matches:
they are looked up and sorted, and the page's list and its count both use them. When one reaches DENSE the
search matches many ("water", "okafor" at 100,000 tickets), and sorting them would read thousands of rows to
show fifty: the list is walked in order instead, each row checked against the search's rule, stopping at the
page; when one row in fifty matches, a page reads 2,500. Either way the rows are exactly those a plain scan of
the shop finds (tests/api/test_desk_search.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, false, func, not_, or_, select, text, union_all
from sqlalchemy.orm import Session

from repairtext.adapters.db import text_search
from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain.search import SearchTerms

# From this many matches on, walking the list finds a page sooner than sorting the matches: it reads about
# page x shop / matches rows (at 100,000 tickets, at most 2,500 for a page of 50).
DENSE = 2000


@dataclass(frozen=True)
class Match:
    """The rows a search selects: `rule`, the condition on one row (to walk a list with); `ids`, all their ids
    when there are few (None: DENSE or more); `indexed`, their ids from the indexes, unbounded, each once."""
    rule: ColumnElement[bool]
    ids: frozenset[int] | None
    indexed: Select | CompoundSelect
    dialect: str

    @property
    def dense(self) -> bool:
        return self.ids is None


@dataclass(frozen=True)
class _Part:
    ids: Select  # ids from an index: of the list's rows, or of customers (`of_customers`)
    rule: ColumnElement[bool]  # what they answer, on one row of the list
    of_customers: bool = False
    # The same, as a set made once and then looked up: cheaper for a later part to leave out a big part's rows,
    # dearer than `rule` for a walk, which reads a page's worth of rows whatever the shop's size.
    as_set: ColumnElement[bool] | None = None


def ticket_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    """Remembered for the session: a page's list and its count ask the same."""
    return _remembered(session, ("tickets", shop_id, terms), lambda: _ticket_match(session, shop_id, terms))


def customer_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    return _remembered(session, ("customers", shop_id, terms), lambda: _customer_match(session, shop_id, terms))


def _remembered(session: Session, key: tuple, make: Callable[[], Match]) -> Match:
    known = session.info.setdefault("desk_search", {})
    if key not in known:
        known[key] = make()
    return known[key]


def _ticket_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    dialect = session.get_bind().dialect.name
    parts = []
    if terms.ticket_number is not None:
        parts.append(_Part(select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.number == terms.ticket_number),
                           Ticket.number == terms.ticket_number))
    by_phone = _customers_by_phone(dialect, shop_id, terms)
    if by_phone is not None:
        parts.append(_Part(by_phone, Ticket.customer_id.in_(by_phone), of_customers=True))
    if terms.text is not None:
        # Customers' names before subjects: what a later part leaves out is checked on each of its rows, and
        # "not one of these customers" is a look-up in a set, where "not this subject" is a LIKE.
        named = text_search.name_matches(dialect, shop_id, terms.text)
        parts += [_Part(named, text_search.customer_name_matches(Ticket.customer_id, shop_id, terms.text, dialect),
                        of_customers=True, as_set=Ticket.customer_id.in_(named)),
                  _Part(text_search.subject_matches(dialect, shop_id, terms.text),
                        text_search.matches(Ticket.subject, terms.text, dialect))]

    def tickets_of(customers):
        return select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.customer_id.in_(customers))

    return _match(session, dialect, parts, Ticket.id, tickets_of)


def _customer_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    dialect = session.get_bind().dialect.name
    parts = []
    by_phone = _customers_by_phone(dialect, shop_id, terms)
    if by_phone is not None:
        parts.append(_Part(by_phone, Customer.id.in_(by_phone)))
    if terms.text is not None:
        parts.append(_Part(text_search.name_matches(dialect, shop_id, terms.text),
                           text_search.matches(Customer.name, terms.text, dialect)))
    return _match(session, dialect, parts, Customer.id, None)


def _match(session: Session, dialect: str, parts: list[_Part], id_column,
           rows_of: Callable[[Any], Select] | None) -> Match:
    """`rows_of(customer ids)`: the list's ids for parts that find customers."""
    if not parts:
        return Match(false(), frozenset(), select(id_column).where(false()), dialect)  # "#12" names no customer
    if dialect == "postgresql":
        # PostgreSQL compiles a plan whose estimated cost passes jit_above_cost before running it, and a walk that
        # stops at its page is costed as a walk of every row (where the page fills is not known): the compiling
        # (80 ms, measured) would cost more than the walk. For this transaction only.
        session.execute(text("SET LOCAL jit = off"))
    found = _found(session, parts, rows_of)
    # Each part's rows less those of the parts before it (by their rules: the row is at hand), so that every id
    # comes once and a count can stop at its limit without remembering what it has seen.
    disjoint = [(rows_of(p.ids) if rows_of and p.of_customers else p.ids).where(
        *(not_(q.rule if q.as_set is None else q.as_set) for q in parts[:n])) for n, p in enumerate(parts)]
    return Match(rule=or_(*(p.rule for p in parts)), ids=found, dialect=dialect,
                 indexed=union_all(*disjoint) if len(disjoint) > 1 else disjoint[0])


def _found(session: Session, parts: list[_Part], rows_of: Callable[[Any], Select] | None) -> frozenset[int] | None:
    """Every id the search selects, or None if an index holds DENSE or more for it: first how many each index
    holds, up to DENSE (one statement, no ids sent back), then, when they are few, the ids."""
    counts = [select(func.count()).select_from(part.ids.limit(DENSE).subquery()).scalar_subquery() for part in parts]
    if max(session.execute(select(*counts)).one()) >= DENSE:
        return None
    rows: set[int] = set()
    customers: set[int] = set()
    for part in parts:
        (customers if part.of_customers else rows).update(session.scalars(part.ids))
    if customers and rows_of:
        batch = session.scalars(rows_of(sorted(customers)).limit(DENSE)).all()
        if len(batch) == DENSE:
            return None
        rows.update(batch)
    return frozenset(rows)


def _customers_by_phone(dialect: str, shop_id: int, terms: SearchTerms) -> Select | None:
    """Ids of the shop's customers with the phone number searched for, or one ending in the digits searched for."""
    found = []
    if terms.phone is not None:
        found.append(select(CustomerPhone.customer_id).where(CustomerPhone.shop_id == shop_id,
                                                             CustomerPhone.e164 == terms.phone))
    if terms.phone_tail is not None:
        found.append(text_search.phone_tail_matches(dialect, shop_id, terms.phone_tail))
    if not found:
        return None
    return found[0] if len(found) == 1 else select(union_all(*found).subquery().c[0])

"""How a search of the desk's lists is read, on SQLite and PostgreSQL alike, so that a page costs about the same
in a shop of 1,000 tickets and of 100,000.

A page is 50 rows in list order (tickets by last activity, customers by name). The indexes
(adapters/db/text_search.py) are asked for the matching ids first, DENSE at most from each. When they have
fewer, those ids are all the matches: they are looked up and sorted (the list's page and its count reuse them).
When one reaches DENSE the search matches many ("water", "okafor" at 100,000 tickets), and sorting them would
read thousands of rows to show fifty: the list is walked in order instead, each row checked against the rule,
stopping at the page; with one row in fifty matching, a page reads 2,500. Either way the rows are exactly those
a plain scan of the shop finds (tests/api/test_desk_search.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, CompoundSelect, Select, exists, false, not_, or_, select, union_all
from sqlalchemy.orm import Session

from repairtext.adapters.db import text_search
from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain.search import SearchTerms

# From this many matches on, walking the list finds a page sooner than sorting the matches: it reads about
# page x shop / matches rows (at 100,000 tickets, at most 2,500 for a page of 50).
DENSE = 2000


@dataclass(frozen=True)
class Match:
    """The rows a search selects: `rule`, the condition on one row (to walk a list with); `ids`, all of their
    ids when there are few (None: DENSE or more); `indexed`, their ids from the indexes, unbounded, each once."""
    rule: ColumnElement[bool]
    ids: frozenset[int] | None
    indexed: Select | CompoundSelect
    dialect: str

    @property
    def dense(self) -> bool:
        return self.ids is None


def ticket_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    dialect = session.get_bind().dialect.name
    parts: list[tuple[Select, ColumnElement[bool]]] = []  # (ids from an index, the rule they answer)
    if terms.ticket_number is not None:
        parts.append((select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.number == terms.ticket_number),
                      Ticket.number == terms.ticket_number))
    by_phone = _customers_by_phone(dialect, shop_id, terms)
    if by_phone is not None:
        parts.append((select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.customer_id.in_(by_phone)),
                      Ticket.customer_id.in_(by_phone)))
    if terms.text is not None:
        named = text_search.name_matches(dialect, shop_id, terms.text)
        parts += [(text_search.subject_matches(dialect, shop_id, terms.text),
                   text_search.matches(Ticket.subject, terms.text, dialect)),
                  (select(Ticket.id).where(Ticket.shop_id == shop_id, Ticket.customer_id.in_(named)),
                   exists().where(Customer.id == Ticket.customer_id,
                                  text_search.matches(Customer.name, terms.text, dialect)))]
    return _match(session, dialect, ("tickets", shop_id, terms), parts, Ticket.id)


def customer_match(session: Session, shop_id: int, terms: SearchTerms) -> Match:
    dialect = session.get_bind().dialect.name
    parts: list[tuple[Select, ColumnElement[bool]]] = []
    by_phone = _customers_by_phone(dialect, shop_id, terms)
    if by_phone is not None:
        parts.append((by_phone, Customer.id.in_(by_phone)))
    if terms.text is not None:
        parts.append((text_search.name_matches(dialect, shop_id, terms.text),
                      text_search.matches(Customer.name, terms.text, dialect)))
    return _match(session, dialect, ("customers", shop_id, terms), parts, Customer.id)


def _match(session: Session, dialect: str, key: tuple, parts: list[tuple[Select, ColumnElement[bool]]],
           id_column) -> Match:
    """Each part's ids, less those of the parts before it (by their rules: the row is at hand), so that every id
    comes once and a count can stop at its limit without remembering what it has seen. Cheap parts first.
    The ids found are remembered for the session: a page's list and its count ask the same."""
    if not parts:
        return Match(false(), frozenset(), select(id_column).where(false()), dialect)  # "#12" names no customer
    disjoint = [ids.where(*(not_(rule) for _ids, rule in parts[:n])) for n, (ids, _rule) in enumerate(parts)]
    found = session.info.setdefault("desk_search.found", {})
    if key not in found:
        batches = [session.scalars(ids.limit(DENSE)).all() for ids in disjoint]
        found[key] = None if any(len(batch) == DENSE for batch in batches) else frozenset().union(*batches)
    return Match(rule=or_(*(rule for _ids, rule in parts)), ids=found[key],
                 indexed=union_all(*disjoint) if len(disjoint) > 1 else disjoint[0], dialect=dialect)


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

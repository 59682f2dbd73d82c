"""Text search through the indexes of migration 0012: SQLite's FTS5 trigram tables (`tickets_subject_search`,
`customers_name_search`, `customer_phones_e164_search`, kept by triggers) and PostgreSQL's pg_trgm GIN indexes.

`matches` is the rule for one row (a case-insensitive substring, as the desk always had it); the `…_matches`
functions give the ids of exactly the shop's rows it holds for. On SQLite the FTS5 phrase finds candidates (it
folds case beyond ASCII, so it may find a few more) and the same LIKE decides; on PostgreSQL pg_trgm answers the
ILIKE itself. A term shorter than SHORTEST has no trigram to look up: it is checked on every subject and name of
the shop (SQLite reads them from the (shop_id, subject) and (shop_id, name) indexes, not the rows).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, column, literal_column, select, table

from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain.search import like_pattern

SHORTEST = 3


def matches(column_, text: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive: SQLite's LIKE already ignores ASCII case (its ILIKE would be lower() on both sides, a
    function call a row); PostgreSQL's ILIKE is what pg_trgm indexes."""
    pattern = like_pattern(text)
    return column_.like(pattern, escape="\\") if dialect == "sqlite" else column_.ilike(pattern, escape="\\")


def subject_matches(dialect: str, shop_id: int, text: str) -> Select:
    """Ids of the shop's tickets whose subject matches `text`."""
    return _matches(dialect, Ticket.id, Ticket.shop_id, Ticket.subject, shop_id, text, "tickets_subject_search")


def name_matches(dialect: str, shop_id: int, text: str) -> Select:
    """Ids of the shop's customers whose name matches `text`."""
    return _matches(dialect, Customer.id, Customer.shop_id, Customer.name, shop_id, text, "customers_name_search")


def phone_tail_matches(dialect: str, shop_id: int, digits: str) -> Select:
    """Ids of the shop's customers with a phone number ending in `digits` (at least SHORTEST of them)."""
    ends = CustomerPhone.e164.like(f"%{digits}")
    if dialect != "sqlite":
        return select(CustomerPhone.customer_id).where(CustomerPhone.shop_id == shop_id, ends)
    return _through_fts(select(CustomerPhone.customer_id), CustomerPhone.id, "customer_phones_e164_search",
                        digits).where(unindexed(CustomerPhone.shop_id, dialect) == shop_id, ends)


def unindexed(column_, dialect: str):
    """`column_` as an expression no index answers, on SQLite (its documented way to steer a planner that has no
    statistics): where ids come from a search index, no other index may be walked instead of looking them up.
    Without it SQLite reads the shop's rows through (shop_id, ...) and asks the search index row by row.
    PostgreSQL weighs both with its statistics, which the expression would blind."""
    return column_ + 0 if dialect == "sqlite" else column_


def _matches(dialect: str, id_column, shop_column, text_column, shop_id: int, text: str, search: str) -> Select:
    rule = matches(text_column, text, dialect)
    if dialect != "sqlite" or len(text) < SHORTEST:
        return select(id_column).where(shop_column == shop_id, rule)  # pg_trgm answers the ILIKE itself
    return _through_fts(select(id_column), id_column, search, text).where(unindexed(shop_column, dialect) == shop_id, rule)


def _through_fts(query: Select, id_column, search: str, text: str) -> Select:
    """`query` reading only the rows the FTS5 table finds for `text` as a phrase of trigrams (in FTS5's own
    quoting: a double quote doubled), each looked up by id."""
    fts = table(search, column("rowid"))
    phrase = '"' + text.replace('"', '""') + '"'
    return (query.select_from(fts).join(id_column.table, id_column == fts.c.rowid)
            .where(literal_column(search).op("MATCH")(phrase)))

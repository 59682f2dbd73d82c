"""Text search through the indexes of migration 0012: SQLite's FTS5 trigram tables (`tickets_subject_search`,
`customers_name_search`, `customer_phones_e164_search`, kept by triggers) and PostgreSQL's pg_trgm GIN indexes.

`matches` is the rule for one row; the `…_matches` functions give the ids of exactly the shop's rows it holds
for, from an index. A term of SHORTEST characters or more matches anywhere in the text, ignoring case, as the
desk always had it. A shorter one has no trigram of its own and would cost a pass over every subject and name of
the shop (a pass of pg_trgm's whole index, worse than reading the table): two characters match the start of a
word instead ("wu": "Wei Wu", "Wubbo"; not "Kawuki"), one the start of the text. Those the indexes answer: the
start of a text from the (shop_id, subject) and (shop_id, name) b-trees on SQLite, from pg_trgm (which pads every
word) on PostgreSQL; a word's start is a space and two characters, a trigram.

Case: SQLite's LIKE ignores ASCII case (its ILIKE would be lower() on both sides, a call a row); PostgreSQL's
ILIKE is what pg_trgm indexes. On SQLite the FTS5 phrase finds candidates (it folds case beyond ASCII, so it may
find a few more) and the same LIKE decides.
"""

from __future__ import annotations

import itertools

from sqlalchemy import ColumnElement, Select, and_, column, literal_column, or_, select, table

from repairtext.adapters.db.models import Customer, CustomerPhone, Ticket
from repairtext.domain.search import like_pattern

SHORTEST = 3


def matches(column_, text: str, dialect: str) -> ColumnElement[bool]:
    def like(pattern: str) -> ColumnElement[bool]:
        return column_.like(pattern, escape="\\") if dialect == "sqlite" else column_.ilike(pattern, escape="\\")

    anywhere = like_pattern(text)
    if len(text) >= SHORTEST:
        return like(anywhere)
    starting = anywhere.removeprefix("%")
    return or_(like(starting), like("% " + starting)) if len(text) == 2 else like(starting)


def customer_name_matches(customer_id, shop_id: int, text: str, dialect: str) -> ColumnElement[bool]:
    """The rule on a row that points at a customer: the customer's name matches `text`. On SQLite a walk looks
    the name up for each row it reads. PostgreSQL is given the set of matching customers: it would make one of
    an EXISTS anyway, and a look-up per row makes it cost a walk as if it read every row (then compile it)."""
    if dialect != "sqlite":
        return customer_id.in_(name_matches(dialect, shop_id, text))
    name = select(Customer.name).where(Customer.id == customer_id).scalar_subquery()
    return matches(name, text, dialect)


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
    return (select(CustomerPhone.customer_id)
            .where(CustomerPhone.id.in_(_fts_rows("customer_phones_e164_search", digits)),
                   unindexed(CustomerPhone.shop_id, dialect) == shop_id, ends))


def unindexed(column_, dialect: str):
    """`column_` as an expression no index answers, on SQLite (its documented way to steer a planner that has no
    statistics): where ids come from a search index, no other index may be walked instead of looking them up.
    Without it SQLite reads the shop's rows through (shop_id, ...) and asks the search index row by row.
    PostgreSQL weighs both with its statistics, which the expression would blind."""
    return column_ + 0 if dialect == "sqlite" else column_


def _matches(dialect: str, id_column, shop_column, text_column, shop_id: int, text: str, search: str) -> Select:
    rule = matches(text_column, text, dialect)
    if dialect != "sqlite":
        return select(id_column).where(shop_column == shop_id, rule)  # pg_trgm answers the ILIKE itself
    in_shop = unindexed(shop_column, dialect) == shop_id
    if len(text) >= SHORTEST:  # the FTS5 table is the outer loop, so a LIMIT stops it early
        fts = _fts_rows(search, text).subquery()
        return select(id_column).select_from(fts).join(id_column.table, id_column == fts.c.rowid).where(in_shop, rule)
    found = [_starting(shop_column, text_column, shop_id, text)]
    if len(text) == 2:
        found.append(id_column.in_(_fts_rows(search, " " + text)))  # a word's start: a trigram
    # One index answers each branch; the shop and the rule are checked on the rows they find.
    return select(id_column).where(or_(*found), in_shop, rule)


def _fts_rows(search: str, text: str) -> Select:
    """Ids the FTS5 table finds for `text` as a phrase of trigrams (in FTS5's own quoting: a double quote doubled)."""
    fts = table(search, column("rowid"))
    phrase = '"' + text.replace('"', '""') + '"'
    return select(fts.c.rowid).where(literal_column(search).op("MATCH")(phrase))


def _starting(shop_column, text_column, shop_id: int, text: str) -> ColumnElement[bool]:
    """Ranges of the (shop_id, text) b-tree holding every text that starts with `text` in any ASCII case (what
    SQLite's LIKE ignores): "bo" is [BO, BP) or [Bo, Bp) or [bO, bP) or [bo, bp), in byte order."""
    cases = [{ch.lower(), ch.upper()} if ch.isascii() and ch.isalpha() else {ch} for ch in text]
    ranges = []
    for spelled in sorted("".join(chars) for chars in itertools.product(*cases)):
        after = _next_after(spelled)
        ranges.append(and_(shop_column == shop_id, text_column >= spelled,
                           *([text_column < after] if after is not None else [])))
    return or_(*ranges)


def _next_after(prefix: str) -> str | None:
    """The least string after every string starting with `prefix` (UTF-8 keeps code point order), if any."""
    if not prefix:
        return None
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:
        last = 0xE000  # surrogates are not characters
    return prefix[:-1] + chr(last) if last <= 0x10FFFF else _next_after(prefix[:-1])

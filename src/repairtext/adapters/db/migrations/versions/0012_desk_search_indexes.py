"""The desk's substring search at 100,000 tickets: trigram indexes on ticket subjects, customer names and phones.

SQLite: FTS5 tables with the trigram tokenizer (SQLite 3.34+), external content (they store the index, not a
copy of the text), kept by triggers on the tables they index. PostgreSQL: pg_trgm GIN indexes, built with
fastupdate off, so a search never reads through a pending list of recent inserts (measured: the list a bulk load
left made a one-row search of 50,000 names take 9.4 ms instead of 0.3 ms).

A later migration that rebuilds tickets, customers or customer_phones on SQLite (batch mode copies, drops and
renames the table) drops these triggers with the old table: it must create them again (as below) and 'rebuild'
the search table. tests/db/test_search_indexes.py fails if a trigger is missing at head.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-02
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0013'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# (search table, indexed table, indexed column)
SEARCHED = [
    ("tickets_subject_search", "tickets", "subject"),
    ("customers_name_search", "customers", "name"),
    ("customer_phones_e164_search", "customer_phones", "e164"),
]


def _sqlite_statements(search: str, table: str, column: str) -> list[str]:
    """FTS5's own recipe for an external-content table: the 'delete' command takes the old value out."""
    delete = f"INSERT INTO {search}({search}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    insert = f"INSERT INTO {search}(rowid, {column}) VALUES (new.id, new.{column});"
    return [
        f"CREATE VIRTUAL TABLE {search} USING fts5({column}, content='{table}', content_rowid='id', "
        f"tokenize='trigram')",
        f"INSERT INTO {search}({search}) VALUES ('rebuild')",
        f"CREATE TRIGGER {search}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {search}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {search}_update AFTER UPDATE OF {column} ON {table} BEGIN {delete} {insert} END",
    ]


# (index, table, column): 0010 made the first two with the default fastupdate; they are made again.
TRIGRAM_INDEXES = [
    ("ix_tickets_subject_trgm", "tickets", "subject"),
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_customer_phones_e164_trgm", "customer_phones", "e164"),
]

NO_TRIGRAMS = (
    "pg_trgm could not be created (%s). The desk's search stays correct but scans every ticket and customer "
    "of the shop (hundreds of ms at 100,000 tickets). To fix: as a superuser run `CREATE EXTENSION pg_trgm "
    "SCHEMA public;` in this database, then the CREATE INDEX statements in README.md, 'Search at volume'."
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _check_sqlite_trigram(bind)
        for search, table, column in SEARCHED:
            for statement in _sqlite_statements(search, table, column):
                op.execute(statement)
        return
    schema = _pg_trgm_schema(bind)
    if schema is None:
        return
    for index, table, column in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {index}")
        op.execute(f'CREATE INDEX {index} ON {table} USING gin ({column} "{schema}".gin_trgm_ops) '
                   f"WITH (fastupdate = off)")


def _check_sqlite_trigram(bind) -> None:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp._trigram_probe USING fts5(x, tokenize='trigram')")
        bind.exec_driver_sql("DROP TABLE temp._trigram_probe")
    except sa.exc.DBAPIError as exc:
        version = bind.exec_driver_sql("SELECT sqlite_version()").scalar()
        raise RuntimeError(f"the desk's search needs SQLite 3.34+ with FTS5 (its trigram tokenizer); this Python's "
                           f"sqlite3 is SQLite {version}: {exc.orig}") from exc


def _pg_trgm_schema(bind) -> str | None:
    """The schema pg_trgm lives in, creating it in public if it is not there yet. Tests run one schema per process
    in one database, so the extension is shared and its operator class is named with its schema; two processes
    creating it at once make one fail, and that one finds it made by the other."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        savepoint.commit()
        failure = None
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        failure = str(exc.orig).strip().splitlines()[0]
    schema = bind.exec_driver_sql("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                  "WHERE e.extname = 'pg_trgm'").scalar()
    if schema is None:
        log.warning(NO_TRIGRAMS, failure)
    return schema


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for search, _table, _column in SEARCHED:
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {search}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {search}")
        return
    op.execute("DROP INDEX IF EXISTS ix_customer_phones_e164_trgm")
    for index, _table, _column in TRIGRAM_INDEXES[:2]:
        op.execute(f"ALTER INDEX IF EXISTS {index} RESET (fastupdate)")

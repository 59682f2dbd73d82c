"""The search indexes of migration 0012 exist at head and follow every write: a new ticket, a renamed
customer, replaced phones, an edited subject, a deleted row (SQLite: triggers into FTS5 tables; PostgreSQL:
pg_trgm GIN indexes without a pending list). Downgrading takes them away and upgrading brings them back."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text
from support.inbound import customer_with_number, open_shop

from repairtext.adapters.db.migrate import alembic_config, upgrade
from repairtext.services import desk

SEARCH_TABLES = ["tickets_subject_search", "customers_name_search", "customer_phones_e164_search"]


def found(ctx, shop_id: int, q: str) -> list[str]:
    with ctx.db.reading() as session:
        return [t.subject for t in desk.list_tickets(session, shop_id, desk.TicketFilter(q=q)).items]


def customers_found(ctx, shop_id: int, q: str) -> list[str]:
    with ctx.db.reading() as session:
        return [c.name for c in desk.list_customers(session, shop_id, q).items]


def check_in_step(ctx) -> None:
    """FTS5's own check that an external-content index holds exactly what its table holds (rank 1: compare
    with the content); it raises when a write went past the triggers."""
    if ctx.db.is_sqlite:
        with ctx.db.transaction() as session:
            for search in SEARCH_TABLES:
                session.execute(text(f"INSERT INTO {search}({search}, rank) VALUES ('integrity-check', 1)"))


def test_the_indexes_follow_every_write(ctx, shops):
    shop = open_shop(shops)
    ana = customer_with_number(shop, "+12065550134", name="Ana Zebrowski")
    shop.ticket(ana["id"], subject="Flickering Kaleidoscope display")
    assert found(ctx, shop.id, "kaleido") == ["Flickering Kaleidoscope display"]
    assert found(ctx, shop.id, "zebrow") == ["Flickering Kaleidoscope display"]
    assert found(ctx, shop.id, "0134") == ["Flickering Kaleidoscope display"]

    renamed = shop.api.patch(f"/api/v1/customers/{ana['id']}", json={
        "name": "Ana Quillfeather", "phones": [{"number": "+12065550188", "type": "mobile"}]})
    assert renamed.status_code == 200, renamed.text
    with ctx.db.transaction() as session:
        session.execute(text("UPDATE tickets SET subject = 'Dim Octahedron display' WHERE shop_id = :s"), {"s": shop.id})
    assert found(ctx, shop.id, "zebrow") == [] and found(ctx, shop.id, "0134") == []
    assert found(ctx, shop.id, "kaleido") == []
    assert found(ctx, shop.id, "quillf") == ["Dim Octahedron display"]
    assert found(ctx, shop.id, "octahed") == found(ctx, shop.id, "0188") == ["Dim Octahedron display"]
    assert customers_found(ctx, shop.id, "quillf") == customers_found(ctx, shop.id, "550188") == ["Ana Quillfeather"]
    check_in_step(ctx)

    with ctx.db.transaction() as session:
        session.execute(text("DELETE FROM customer_phones WHERE shop_id = :s"), {"s": shop.id})
    assert found(ctx, shop.id, "0188") == [] and customers_found(ctx, shop.id, "0188") == []
    check_in_step(ctx)


def test_the_indexes_exist_at_head(ctx):
    with ctx.db.reading() as session:
        if ctx.db.is_sqlite:
            names = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")))
            assert {f"{t}{suffix}" for t in SEARCH_TABLES for suffix in ("", "_insert", "_delete", "_update")} <= names
            return
        rows = session.execute(text(
            "SELECT c.relname, c.reloptions, pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname LIKE '%\\_trgm'")).all()
    assert {r[0] for r in rows} == {"ix_tickets_subject_trgm", "ix_customers_name_trgm", "ix_customer_phones_e164_trgm"}
    assert all(r[1] == ["fastupdate=off"] and "gin_trgm_ops" in r[2] for r in rows)


def test_downgrade_takes_them_away_and_upgrade_brings_them_back(database_template, tmp_path):
    kind, where = database_template
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'cycle.db'}"
    else:
        schema = f"rt_cycle_{uuid.uuid4().hex[:8]}"
        admin = create_engine(where)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = where.rsplit("?", 1)[0] + f"?options=-csearch_path%3D{schema}"
    listed = ("SELECT name FROM sqlite_master WHERE name LIKE '%\\_search%' ESCAPE '\\'" if kind == "sqlite" else
              "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%\\_trgm'")
    try:
        upgrade(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            at_head = set(conn.execute(text(listed)).scalars())
        command.downgrade(alembic_config(url), "0005")
        with engine.connect() as conn:
            after_downgrade = set(conn.execute(text(listed)).scalars())
        upgrade(url)
        with engine.connect() as conn:
            again = set(conn.execute(text(listed)).scalars())
        engine.dispose()
        assert at_head == again and len(at_head) >= 3
        # 0010's two trigram indexes are older than 0012 and stay; 0012's own go.
        assert after_downgrade == ({"ix_tickets_subject_trgm", "ix_customers_name_trgm"} if schema else set())
    finally:
        if schema:
            admin = create_engine(where)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

"""The migrations build the schema the models describe, from empty, on the suite's database."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, inspect, text

from repairtext.adapters.db.migrate import check, upgrade
from repairtext.adapters.db.models import Base


def _empty_database(database_template, tmp_path):
    kind, where = database_template
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}", None
    schema = f"rt_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(where)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return where.rsplit("?", 1)[0] + f"?options=-csearch_path%3D{schema}", schema


def test_upgrade_from_empty_then_no_drift(database_template, tmp_path):
    url, schema = _empty_database(database_template, tmp_path)
    try:
        upgrade(url)
        check(url)  # raises if the models and the migrations disagree
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        upgrade(url)  # running again is a no-op
    finally:
        if schema:
            admin = create_engine(database_template[1])
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


SEED_AT_0002 = [
    "INSERT INTO shops (id, name, plan, time_zone, country, subscription_started_on, provider, flowroute_token, "
    "smart_encoding, quiet_start, quiet_end, next_ticket_number, created_at) VALUES (1, 'Old', 'starter', "
    "'America/Chicago', 'US', '2026-11-01', 'twilio', 'tok', true, '21:00', '08:00', 2, '2026-11-01 10:00:00')",
    "INSERT INTO customers (id, shop_id, name, sms_enabled, opted_out_at, created_at) VALUES "
    "(1, 1, 'Jane', true, '2026-11-20 10:00:00', '2026-11-01 10:00:00')",
    "INSERT INTO customer_phones (id, shop_id, customer_id, e164, type) VALUES (1, 1, 1, '+12065550122', 'mobile')",
    "INSERT INTO tickets (id, shop_id, customer_id, number, subject, problem, status, portal_token, created_at, "
    "updated_at) VALUES (1, 1, 1, 1, 'Screen', '', 'New', 'p1', '2026-11-01 10:00:00', '2026-11-02 10:00:00')",
    "INSERT INTO comments (id, shop_id, ticket_id, body, public, author, created_at) VALUES "
    "(1, 1, 1, 'Is it ready?', true, 'customer', '2026-11-02 10:00:00')",
    "INSERT INTO messages (id, shop_id, direction, ticket_id, customer_id, provider, provider_id, from_number, "
    "to_number, body, segments, credits, status, send_attempts, part, parts, created_at, updated_at) VALUES "
    "(1, 1, 'inbound', 1, 1, 'twilio', 'SMx', '+12065550122', '+12065550111', 'Is it ready?', 0, 0, 'received', "
    "0, 1, 1, '2026-11-02 10:00:00', '2026-11-02 10:00:00')",
    # A text from a number that is not Jane's, placed on her ticket from the inbox; and a staff answer.
    "INSERT INTO comments (id, shop_id, ticket_id, body, public, author, created_at) VALUES "
    "(2, 1, 1, 'Wrong number?', true, 'customer', '2026-11-02 11:00:00')",
    "INSERT INTO messages (id, shop_id, direction, ticket_id, customer_id, comment_id, provider, provider_id, "
    "from_number, to_number, body, segments, credits, status, send_attempts, part, parts, created_at, updated_at) "
    "VALUES (2, 1, 'inbound', 1, 1, 2, 'twilio', 'SMy', '+12065550999', '+12065550111', 'Wrong number?', 0, 0, "
    "'received', 0, 1, 1, '2026-11-02 11:00:00', '2026-11-02 11:00:00')",
    "INSERT INTO comments (id, shop_id, ticket_id, body, public, author, created_at) VALUES "
    "(3, 1, 1, 'Ready at 5', false, 'staff', '2026-11-02 12:00:00')",
]


def test_a_database_with_data_upgrades_from_the_last_release(database_template, tmp_path):
    """0003 and 0010 rebuild tables that other rows point at (SQLite batch mode): with the data of a shop in
    use, the upgrade must keep every row and reference, and fill the new columns from what was there."""
    url, schema = _empty_database(database_template, tmp_path)
    try:
        upgrade(url, "0002")
        engine = create_engine(url)
        with engine.begin() as conn:
            for statement in SEED_AT_0002:
                conn.execute(text(statement))
        upgrade(url)
        with engine.connect() as conn:
            ticket = conn.execute(text("SELECT needs_reply, last_activity_at FROM tickets")).one()
            opted_out = conn.execute(text("SELECT e164 FROM opt_outs")).scalars().all()
            authors = conn.execute(text("SELECT id, author_name, author_customer_id, author_number FROM comments "
                                        "ORDER BY id")).all()
            account = conn.execute(text("SELECT account FROM messages WHERE id = 1")).scalar_one()
        engine.dispose()
        assert bool(ticket[0]) is True and ticket[1] is not None  # the customer wrote last
        assert account == "platform" and opted_out == ["+12065550122"]
        # Only a text from one of Jane's phones is Jane's; the stranger's shows its number; staff "Staff".
        assert [tuple(a) for a in authors] == [(1, "Jane", 1, None), (2, "+12065550999", None, "+12065550999"),
                                               (3, "Staff", None, None)]
    finally:
        if schema:
            admin = create_engine(database_template[1])
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

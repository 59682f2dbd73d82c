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

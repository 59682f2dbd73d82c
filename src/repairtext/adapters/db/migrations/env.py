from alembic import context
from sqlalchemy import pool

from repairtext.adapters.db.engine import make_engine
from repairtext.adapters.db.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # The desk's search indexes are not models: trigram indexes exist only where pg_trgm could be created
    # (migrations 0010, 0012), and SQLite's FTS5 tables (0012) with their shadow tables (`…_search_data`…).
    unmodelled = reflected and compare_to is None and bool(name)
    if type_ == "index":
        return not (unmodelled and name.endswith("_trgm"))
    if type_ == "table":
        return not (unmodelled and "_search" in name)
    return True


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: sqlalchemy.url is not set (migrate.py sets it to the database's URL)")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys enforced, dropping a table
            # that other rows point at fails. SQLite's own advice: off for the migration (outside a transaction,
            # where the PRAGMA works), then check every reference still holds before turning them back on.
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = _driver(connection).execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left {len(broken)} broken references, first {broken[0]}")
            _driver(connection).execute("PRAGMA foreign_keys=ON")
    engine.dispose()


def _driver(connection):
    return connection.connection.driver_connection


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `repairtext migrate`")
run_migrations_online()

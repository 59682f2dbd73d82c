from alembic import context
from sqlalchemy import pool

from repairtext.adapters.db.engine import make_engine
from repairtext.adapters.db.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Trigram indexes exist only where pg_trgm could be created (migration 0010); the models do not name them.
    return not (type_ == "index" and reflected and compare_to is None and name and name.endswith("_trgm"))


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

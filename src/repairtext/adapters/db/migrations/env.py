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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `repairtext migrate`")
run_migrations_online()

"""The desk's lists: tickets by last activity with needs-reply, customers by name, trigram search on PostgreSQL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BACKFILL_NEEDS_REPLY = """
UPDATE tickets SET needs_reply = (
    SELECT c.author = 'customer' FROM comments c
    WHERE c.ticket_id = tickets.id AND c.public AND c.author <> 'system'
    ORDER BY c.id DESC LIMIT 1
) WHERE EXISTS (SELECT 1 FROM comments c WHERE c.ticket_id = tickets.id AND c.public AND c.author <> 'system')
"""


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('last_activity_at', repairtext.adapters.db.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('needs_reply', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE tickets SET last_activity_at = updated_at")
    op.execute(BACKFILL_NEEDS_REPLY)
    with op.batch_alter_table('tickets') as batch:
        batch.alter_column('last_activity_at', existing_type=repairtext.adapters.db.types.UTCDateTime(), nullable=False)
    op.create_index('ix_tickets_shop_activity', 'tickets', ['shop_id', 'last_activity_at', 'id'])
    op.create_index('ix_tickets_shop_needs_reply_activity', 'tickets', ['shop_id', 'needs_reply', 'last_activity_at', 'id'])
    op.create_index('ix_tickets_shop_status_activity', 'tickets', ['shop_id', 'status', 'last_activity_at', 'id'])
    op.create_index('ix_tickets_shop_subject', 'tickets', ['shop_id', 'subject', 'id'])
    op.create_index('ix_customers_shop_name', 'customers', ['shop_id', 'name', 'id'])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Substring search ("screen", "cooper") over 100,000 tickets: trigram indexes, if the extension may be
        # created here (pg_trgm is a trusted extension; a role that may not create it still gets correct,
        # slower, sequential search).
        savepoint = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            bind.exec_driver_sql("CREATE INDEX ix_tickets_subject_trgm ON tickets USING gin (subject public.gin_trgm_ops)")
            bind.exec_driver_sql("CREATE INDEX ix_customers_name_trgm ON customers USING gin (name public.gin_trgm_ops)")
            savepoint.commit()
        except sa.exc.DBAPIError:
            savepoint.rollback()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_subject_trgm")
        op.execute("DROP INDEX IF EXISTS ix_customers_name_trgm")
    op.drop_index('ix_customers_shop_name', table_name='customers')
    op.drop_index('ix_tickets_shop_subject', table_name='tickets')
    op.drop_index('ix_tickets_shop_status_activity', table_name='tickets')
    op.drop_index('ix_tickets_shop_needs_reply_activity', table_name='tickets')
    op.drop_index('ix_tickets_shop_activity', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('needs_reply')
        batch.drop_column('last_activity_at')

"""Events for the live stream; on PostgreSQL each committed event is NOTIFYd to every server process.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION repairtext_notify_event() RETURNS trigger AS $$
BEGIN
    -- Delivered at commit, in commit order, to every listening process; one channel per schema.
    PERFORM pg_notify('repairtext_events_' || current_schema(), json_build_object(
        'id', NEW.id, 'shop_id', NEW.shop_id, 'kind', NEW.kind, 'ticket_id', NEW.ticket_id,
        'message_id', NEW.message_id, 'comment_id', NEW.comment_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('comment_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_events_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index('ix_events_shop_id_id', 'events', ['shop_id', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute("CREATE TRIGGER events_notify AFTER INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION repairtext_notify_event()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS repairtext_notify_event()")
    op.drop_index('ix_events_shop_id_id', table_name='events')
    op.drop_table('events')

"""Reconciling texts whose delivery callbacks never came: how often the provider was asked, when to ask next.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_checks', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('status_check_at', repairtext.adapters.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_messages_status_check', ['status', 'status_check_at', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_check')
        batch_op.drop_column('status_check_at')
        batch_op.drop_column('status_checks')

"""API keys get a name and a last-used time; staff sessions live on the server; failed attempts are counted
for rate limits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTC = repairtext.adapters.db.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=80), server_default='API key', nullable=False))
        batch_op.add_column(sa.Column('last_used_at', UTC(), nullable=True))
    op.create_table('staff_sessions',
    sa.Column('id', Id, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('api_key_id', Id, nullable=True),
    sa.Column('created_at', UTC(), nullable=False),
    sa.Column('last_seen_at', UTC(), nullable=False),
    sa.Column('expires_at', UTC(), nullable=False),
    sa.Column('revoked_at', UTC(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_staff_sessions_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_staff_sessions_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_sessions_token_hash'))
    )
    op.create_index(op.f('ix_staff_sessions_shop_id'), 'staff_sessions', ['shop_id'], unique=False)
    op.create_index(op.f('ix_staff_sessions_api_key_id'), 'staff_sessions', ['api_key_id'], unique=False)
    op.create_table('rate_limit_hits',
    sa.Column('id', Id, nullable=False),
    sa.Column('bucket', sa.String(length=100), nullable=False),
    sa.Column('expires_at', UTC(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_hits'))
    )
    op.create_index('ix_rate_limit_hits_bucket_expires', 'rate_limit_hits', ['bucket', 'expires_at'], unique=False)
    op.create_index(op.f('ix_rate_limit_hits_expires_at'), 'rate_limit_hits', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_limit_hits_expires_at'), table_name='rate_limit_hits')
    op.drop_index('ix_rate_limit_hits_bucket_expires', table_name='rate_limit_hits')
    op.drop_table('rate_limit_hits')
    op.drop_index(op.f('ix_staff_sessions_api_key_id'), table_name='staff_sessions')
    op.drop_index(op.f('ix_staff_sessions_shop_id'), table_name='staff_sessions')
    op.drop_table('staff_sessions')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('name')

"""Idempotency keys for every request that texts a customer (one mechanism; add-on purchases move onto it).

Revision ID: 0005
Revises: 0007
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0005'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_idempotency_keys_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('shop_id', 'key', name=op.f('uq_idempotency_keys_shop_id_key'))
    )
    # Add-on purchases used a key column of their own; idempotency_keys replaces it.
    with op.batch_alter_table('addon_purchases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_addon_purchases_shop_id_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')


def downgrade() -> None:
    with op.batch_alter_table('addon_purchases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_addon_purchases_shop_id_idempotency_key'),
                                          ['shop_id', 'idempotency_key'])
    op.drop_table('idempotency_keys')

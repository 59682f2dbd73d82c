"""Opt-outs kept by number; each shop number says whose account it is on; add-on purchases take an
Idempotency-Key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opt_outs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('e164', sa.String(length=20), nullable=False),
    sa.Column('opted_out_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_opt_outs_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opt_outs')),
    sa.UniqueConstraint('shop_id', 'e164', name=op.f('uq_opt_outs_shop_id_e164'))
    )
    with op.batch_alter_table('shop_numbers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=20), server_default='twilio', nullable=False))
    with op.batch_alter_table('addon_purchases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_addon_purchases_shop_id_idempotency_key'),
                                          ['shop_id', 'idempotency_key'])
    # Customers who opted out before this revision: their mobile numbers stay opted out.
    op.execute(
        "INSERT INTO opt_outs (shop_id, e164, opted_out_at) "
        "SELECT p.shop_id, p.e164, MIN(c.opted_out_at) FROM customer_phones p "
        "JOIN customers c ON c.id = p.customer_id "
        "WHERE c.opted_out_at IS NOT NULL AND p.type = 'mobile' GROUP BY p.shop_id, p.e164"
    )


def downgrade() -> None:
    with op.batch_alter_table('addon_purchases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_addon_purchases_shop_id_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
    with op.batch_alter_table('shop_numbers', schema=None) as batch_op:
        batch_op.drop_column('provider')
    op.drop_table('opt_outs')

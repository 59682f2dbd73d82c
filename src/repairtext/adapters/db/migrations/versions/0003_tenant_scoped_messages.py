"""Provider ids are unique within the account that issued them (messages.account); parked receipts carry the
shop whose token they came with; opt-outs by number are the only record of an opt-out (customers.opted_out_at
goes, after its opt-outs are copied to opt_outs) and say why.

Revision ID: 0003
Revises: 0010
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0003'
down_revision = '0010'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=40), nullable=True))
    op.execute("UPDATE messages SET account = CASE WHEN provider = 'twilio' THEN 'platform' "
               "ELSE 'shop:' || CAST(shop_id AS VARCHAR(20)) END")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('account', existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_constraint('uq_messages_provider_provider_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_messages_provider_account_provider_id'),
                                          ['provider', 'account', 'provider_id'])

    # A Flowroute receipt parked before this revision cannot be told apart from another shop's: drop it (parked
    # receipts matter for seconds, while a worker commits the id).
    op.execute("DELETE FROM pending_receipts WHERE provider <> 'twilio'")
    with op.batch_alter_table('pending_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shop_id', Id, nullable=True))
        batch_op.create_index(batch_op.f('ix_pending_receipts_shop_id'), ['shop_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_pending_receipts_shop_id_shops'), 'shops', ['shop_id'], ['id'])

    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='keyword', nullable=False))
    # Every number of a customer who opted out stays opted out (0002 copied mobile numbers only).
    op.execute(
        "INSERT INTO opt_outs (shop_id, e164, opted_out_at, source) "
        "SELECT p.shop_id, p.e164, MIN(c.opted_out_at), 'keyword' FROM customer_phones p "
        "JOIN customers c ON c.id = p.customer_id WHERE c.opted_out_at IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.shop_id = p.shop_id AND o.e164 = p.e164) "
        "GROUP BY p.shop_id, p.e164"
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('opted_out_at')


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opted_out_at', repairtext.adapters.db.types.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE customers SET opted_out_at = (SELECT MIN(o.opted_out_at) FROM opt_outs o "
        "JOIN customer_phones p ON p.shop_id = o.shop_id AND p.e164 = o.e164 WHERE p.customer_id = customers.id)"
    )
    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.drop_column('source')
    with op.batch_alter_table('pending_receipts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pending_receipts_shop_id_shops'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pending_receipts_shop_id'))
        batch_op.drop_column('shop_id')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_messages_provider_account_provider_id'), type_='unique')
        batch_op.create_unique_constraint('uq_messages_provider_provider_id', ['provider', 'provider_id'])
        batch_op.drop_column('account')

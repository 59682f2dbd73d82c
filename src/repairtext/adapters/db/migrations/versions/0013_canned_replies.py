"""Canned replies: a shop's ready-made comments, Liquid templates like its SMS texts.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_replies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_canned_replies_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies')),
    sa.UniqueConstraint('shop_id', 'title', name=op.f('uq_canned_replies_shop_id_title'))
    )


def downgrade() -> None:
    op.drop_table('canned_replies')

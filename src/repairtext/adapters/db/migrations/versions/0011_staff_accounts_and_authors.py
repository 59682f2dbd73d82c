"""Staff accounts (email and password, owner or staff), invitations, sessions that belong to a person; every comment
says who wrote it; inbox texts can be dismissed with a reason.

Sessions opened with the shop's API key end here: the pages now need a staff account.

Comments written before this revision get the best author the rows can prove: staff comments "Staff"; a
customer's text is the customer's only where its sender number is one of that customer's phones, and otherwise
shows the sender's number (a text placed from the inbox used to be shown as the ticket customer's).

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0011'
down_revision = '0005'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTC = repairtext.adapters.db.types.UTCDateTime
ACTIVE = sa.text('removed_at IS NULL')

_INBOUND_OF = "FROM messages m WHERE m.comment_id = comments.id AND m.direction = 'inbound'"
_SENDER_IS_TICKET_CUSTOMER = (
    "EXISTS (SELECT 1 FROM messages m JOIN tickets t ON t.id = comments.ticket_id "
    "JOIN customer_phones p ON p.customer_id = t.customer_id AND p.e164 = m.from_number "
    "WHERE m.comment_id = comments.id AND m.direction = 'inbound')")


def upgrade() -> None:
    op.create_table('staff_accounts',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', UTC(), nullable=False),
    sa.Column('removed_at', UTC(), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_staff_accounts_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_accounts')),
    )
    op.create_index(op.f('ix_staff_accounts_shop_id'), 'staff_accounts', ['shop_id'], unique=False)
    op.create_index('uq_staff_accounts_active_email', 'staff_accounts', ['email'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.create_table('staff_invites',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', Id, nullable=True),
    sa.Column('created_at', UTC(), nullable=False),
    sa.Column('expires_at', UTC(), nullable=False),
    sa.Column('accepted_at', UTC(), nullable=True),
    sa.Column('revoked_at', UTC(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['staff_accounts.id'],
                            name=op.f('fk_staff_invites_invited_by_id_staff_accounts')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_staff_invites_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_invites_token_hash')),
    )
    op.create_index(op.f('ix_staff_invites_shop_id'), 'staff_invites', ['shop_id'], unique=False)

    op.execute("DELETE FROM staff_sessions")
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_sessions_api_key_id')
        batch_op.drop_constraint('fk_staff_sessions_api_key_id_api_keys', type_='foreignkey')
        batch_op.drop_column('api_key_id')
        batch_op.add_column(sa.Column('staff_account_id', Id, nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_staff_sessions_staff_account_id_staff_accounts'),
                                    'staff_accounts', ['staff_account_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_account_id'), ['staff_account_id'], unique=False)

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('author_staff_id', Id, nullable=True))
        batch_op.add_column(sa.Column('author_customer_id', Id, nullable=True))
        batch_op.add_column(sa.Column('author_number', sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_comments_author_staff_id_staff_accounts'),
                                    'staff_accounts', ['author_staff_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_comments_author_customer_id_customers'),
                                    'customers', ['author_customer_id'], ['id'])
    op.execute("UPDATE comments SET author_name = 'Staff' WHERE author = 'staff'")
    op.execute("UPDATE comments SET author_name = 'System' WHERE author = 'system'")
    op.execute(f"UPDATE comments SET author_number = (SELECT m.from_number {_INBOUND_OF} ORDER BY m.id LIMIT 1) "
               "WHERE author = 'customer'")
    op.execute("UPDATE comments SET author_customer_id = (SELECT t.customer_id FROM tickets t "
               "WHERE t.id = comments.ticket_id) "
               f"WHERE author = 'customer' AND (author_number IS NULL OR {_SENDER_IS_TICKET_CUSTOMER})")
    op.execute("UPDATE comments SET author_name = COALESCE((SELECT c.name FROM customers c "
               "WHERE c.id = comments.author_customer_id), author_number, 'Customer') WHERE author = 'customer'")

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('dismissed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', UTC(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('dismissed_by')
        batch_op.drop_column('dismissed_reason')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_comments_author_customer_id_customers', type_='foreignkey')
        batch_op.drop_constraint('fk_comments_author_staff_id_staff_accounts', type_='foreignkey')
        batch_op.drop_column('author_number')
        batch_op.drop_column('author_customer_id')
        batch_op.drop_column('author_staff_id')
        batch_op.drop_column('author_name')
    op.execute("DELETE FROM staff_sessions")
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_sessions_staff_account_id')
        batch_op.drop_constraint('fk_staff_sessions_staff_account_id_staff_accounts', type_='foreignkey')
        batch_op.drop_column('staff_account_id')
        batch_op.add_column(sa.Column('api_key_id', Id, nullable=True))
        batch_op.create_foreign_key('fk_staff_sessions_api_key_id_api_keys', 'api_keys', ['api_key_id'], ['id'])
        batch_op.create_index('ix_staff_sessions_api_key_id', ['api_key_id'], unique=False)
    op.drop_index(op.f('ix_staff_invites_shop_id'), table_name='staff_invites')
    op.drop_table('staff_invites')
    op.drop_index('uq_staff_accounts_active_email', table_name='staff_accounts')
    op.drop_index(op.f('ix_staff_accounts_shop_id'), table_name='staff_accounts')
    op.drop_table('staff_accounts')

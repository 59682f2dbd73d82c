"""Deployment-wide housekeeping runs once per period; PostgreSQL NOTIFYs workers when a job is queued.

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import repairtext.adapters.db.types

revision = '0008'
down_revision = '0002'
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION repairtext_notify_work() RETURNS trigger AS $$
BEGIN
    -- One channel per schema: two deployments (or test runs) sharing a database never wake each other.
    PERFORM pg_notify('repairtext_work_' || current_schema(), '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('periodic_tasks',
    sa.Column('task', sa.String(length=40), nullable=False),
    sa.Column('last_run_at', repairtext.adapters.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('task', name=op.f('pk_periodic_tasks'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        # Once per statement: a batch insert of a thousand jobs is one notification, not a thousand.
        op.execute("CREATE TRIGGER jobs_notify_work AFTER INSERT ON jobs "
                   "FOR EACH STATEMENT EXECUTE FUNCTION repairtext_notify_work()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS jobs_notify_work ON jobs")
        op.execute("DROP FUNCTION IF EXISTS repairtext_notify_work()")
    op.drop_table('periodic_tasks')

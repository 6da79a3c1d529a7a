"""tender periods: a floor has no clock (tender_stage.clock_id nullable) but its kind, the end the
tenderer set, its earliest lawful end, its pauses and whether it ended lawfully; tenderer and
agency carry their 统一社会信用代码

Revision ID: 3f6b2d8e1a57
Revises: 9c3e5a1f7d20
Create Date: 2026-12-08 12:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

from esupervision.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = '3f6b2d8e1a57'
down_revision: str | Sequence[str] | None = '9c3e5a1f7d20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenderer_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('agency_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('tender_stage', schema=None) as batch_op:
        batch_op.alter_column('clock_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column('period_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default='deadline'))
        batch_op.add_column(sa.Column('scheduled_end', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('earliest_end', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    # Stages written before: the law's floors were clocked like deadlines, the evaluation had a
    # limit of its own. Their kind now says what the law sets (their old clocks stay as they were).
    op.execute("UPDATE tender_stage SET period_kind = 'floor' "
               "WHERE kind IN ('sale', 'prequalification', 'bidding', 'publicity')")
    op.execute("UPDATE tender_stage SET period_kind = 'none', rule = 'EVALUATION_TIME' WHERE kind = 'evaluation'")
    with op.batch_alter_table('tender_stage', schema=None) as batch_op:
        batch_op.alter_column('period_kind', server_default=None)
        batch_op.alter_column('paused_days', server_default=None)


def downgrade() -> None:
    op.execute("UPDATE tender_stage SET rule = 'EVALUATION_DAYS' WHERE kind = 'evaluation'")
    # Stages without a clock (floors and untimed evaluations) did not exist before.
    op.execute("DELETE FROM tender_stage WHERE clock_id IS NULL")
    with op.batch_alter_table('tender_stage', schema=None) as batch_op:
        batch_op.drop_column('outcome')
        batch_op.drop_column('paused_days')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('earliest_end')
        batch_op.drop_column('scheduled_end')
        batch_op.drop_column('period_kind')
        batch_op.alter_column('clock_id', existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.drop_column('agency_code')
        batch_op.drop_column('tenderer_code')

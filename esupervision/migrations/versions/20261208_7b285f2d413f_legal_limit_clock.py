"""legal limit clock: case.legal_clock_id and statistics_day.over_legal_limit

Every case accepted from now on runs a clock on its item's legal limit (法定时限, 行政许可法
art. 42) beside the committed one (subject type ``legal_limit``), and the daily rollup counts the
completions past it (超法定时限). Cases accepted before this revision have no legal clock: their
``overLegalLimit`` reads false and they count in no over_legal_limit figure.

Revision ID: 7b285f2d413f
Revises: aac94e9d6c87
Create Date: 2026-12-07 23:27:20.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import esupervision.models.base  # noqa: F401  (autogenerate renders UTCDateTime from here)


# revision identifiers, used by Alembic.
revision: str = '7b285f2d413f'
down_revision: str | Sequence[str] | None = 'aac94e9d6c87'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_clock_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key('fk_case_legal_clock_id_clock', 'clock', ['legal_clock_id'], ['id'],
                                    initially='DEFERRED', deferrable=True)
    with op.batch_alter_table('statistics_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('over_legal_limit', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('statistics_day', schema=None) as batch_op:
        batch_op.drop_column('over_legal_limit')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_legal_clock_id_clock', type_='foreignkey')
        batch_op.drop_column('legal_clock_id')

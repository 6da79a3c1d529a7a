"""document numbers sequential per kind, center and local day (urges, orders, complaints)

Revision ID: 9c3e5a1f7d20
Revises: 5d1c0e7a9b42
Create Date: 2026-12-08 10:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '9c3e5a1f7d20'
down_revision: str | Sequence[str] | None = '5d1c0e7a9b42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('number_counter',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'center_id', 'day')
    )


def downgrade() -> None:
    op.drop_table('number_counter')

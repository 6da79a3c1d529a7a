"""idempotency keys of mutations: the first answer kept for 24 h per principal and key

Revision ID: 5d1c0e7a9b42
Revises: 7b285f2d413f
Create Date: 2026-12-08 09:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import esupervision.models.base  # noqa: F401  (autogenerate renders UTCDateTime from here)


# revision identifiers, used by Alembic.
revision: str = '5d1c0e7a9b42'
down_revision: str | Sequence[str] | None = '7b285f2d413f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('principal', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('claimed_at', esupervision.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', esupervision.models.base.UTCDateTime(), nullable=False),
    sa.Column('committed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('principal', 'key')
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_key_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_expires_at'))

    op.drop_table('idempotency_key')

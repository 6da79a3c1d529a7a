"""county replication: the counties the city replicates and their verified ledger replicas

Revision ID: c1a7e5f30b28
Revises: b7d4e2a9c613
Create Date: 2026-12-08 03:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op  # noqa: F401

from esupervision.models.base import UTCDateTime  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = 'c1a7e5f30b28'
down_revision: str | Sequence[str] | None = 'b7d4e2a9c613'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('county',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('parent_center_id', sa.Uuid(), nullable=True),
    sa.Column('center_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_pulled_at', UTCDateTime(), nullable=True),
    sa.Column('last_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('last_head_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('diverged_at', UTCDateTime(), nullable=True),
    sa.Column('diverged_center_id', sa.Uuid(), nullable=True),
    sa.Column('diverged_seq', sa.Integer(), nullable=True),
    sa.Column('diverged_detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('county_chain',
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('county_id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('last_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('frontier', sa.Text(), server_default='', nullable=False),
    sa.Column('head_size', sa.Integer(), nullable=False),
    sa.Column('head_root', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('head_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['county_id'], ['county.id'], ),
    sa.PrimaryKeyConstraint('center_id')
    )
    op.create_index(op.f('ix_county_chain_county_id'), 'county_chain', ['county_id'], unique=False)
    op.create_table('county_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('signed_at', UTCDateTime(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_id', 'size', name='uq_county_head_size')
    )
    op.create_index(op.f('ix_county_head_center_id'), 'county_head', ['center_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_county_head_center_id'), table_name='county_head')
    op.drop_table('county_head')
    op.drop_index(op.f('ix_county_chain_county_id'), table_name='county_chain')
    op.drop_table('county_chain')
    op.drop_table('county')

"""county commands: urges and orders from the city delivered to county deployments

Revision ID: e5c9a3b7f104
Revises: d4b8f2c6a915
Create Date: 2026-12-08 03:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from esupervision.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'e5c9a3b7f104'
down_revision: str | Sequence[str] | None = 'd4b8f2c6a915'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('county_command',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('case_number', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reply_days', sa.Integer(), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('issued_at', UTCDateTime(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('last_error_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.Column('county_number', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('county_subject_id', sa.Uuid(), nullable=True),
    sa.Column('seq_floor', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', UTCDateTime(), nullable=True),
    sa.Column('confirmed_seq', sa.Integer(), nullable=True),
    sa.Column('replied_at', UTCDateTime(), nullable=True),
    sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_county_command_county', 'county_command', ['county_code', 'county_number'], unique=False)
    op.create_index('ix_county_command_due', 'county_command', ['status', 'next_attempt_at'], unique=False)
    op.create_table('county_credential',
    sa.Column('county_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sealed_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_hint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('set_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('county_code')
    )
    op.create_table('city_key',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['center.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )


def downgrade() -> None:
    op.drop_table('city_key')
    op.drop_table('county_credential')
    op.drop_index('ix_county_command_due', table_name='county_command')
    op.drop_index('ix_county_command_county', table_name='county_command')
    op.drop_table('county_command')

"""video supervision: cameras per window and hall, bookmarks of case events, evidence marks

Revision ID: d4b8f2c6a915
Revises: c1a7e5f30b28
Create Date: 2026-12-08 03:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

from esupervision.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'd4b8f2c6a915'
down_revision: str | Sequence[str] | None = 'c1a7e5f30b28'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('camera',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('window_id', sa.Uuid(), nullable=True),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('stream_url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['center.id'], ),
    sa.ForeignKeyConstraint(['window_id'], ['window.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_id', 'code')
    )
    op.create_index('ix_camera_window', 'camera', ['window_id'], unique=False)
    op.create_index(op.f('ix_camera_center_id'), 'camera', ['center_id'], unique=False)
    op.create_table('video_evidence',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('camera_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('fault_id', sa.Uuid(), nullable=True),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('offset_seconds', sa.Float(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('marked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('marked_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ),
    sa.ForeignKeyConstraint(['center_id'], ['center.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_video_evidence_case', 'video_evidence', ['case_id'], unique=False)
    op.create_index('ix_video_evidence_fault', 'video_evidence', ['fault_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_video_evidence_fault', table_name='video_evidence')
    op.drop_index('ix_video_evidence_case', table_name='video_evidence')
    op.drop_table('video_evidence')
    op.drop_index(op.f('ix_camera_center_id'), table_name='camera')
    op.drop_index('ix_camera_window', table_name='camera')
    op.drop_table('camera')

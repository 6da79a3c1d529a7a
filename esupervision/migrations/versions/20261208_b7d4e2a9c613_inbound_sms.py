"""inbound SMS: what people text back to our Aliyun numbers (SmsUp), one row per message by
Aliyun's sequence_id, so a push repeated is acted on once

Revision ID: b7d4e2a9c613
Revises: 3f6b2d8e1a57
Create Date: 2026-12-08 15:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

from esupervision.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'b7d4e2a9c613'
down_revision: str | Sequence[str] | None = '3f6b2d8e1a57'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_sms',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('dest_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'message_id', name='uq_inbound_sms_message')
    )


def downgrade() -> None:
    op.drop_table('inbound_sms')

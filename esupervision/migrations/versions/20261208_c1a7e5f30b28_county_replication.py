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
    pass


def downgrade() -> None:
    pass

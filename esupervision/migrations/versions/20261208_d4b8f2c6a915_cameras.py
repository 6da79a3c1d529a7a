"""video supervision: cameras per window and hall, bookmarks of case events, evidence marks

Revision ID: d4b8f2c6a915
Revises: c1a7e5f30b28
Create Date: 2026-12-08 03:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op  # noqa: F401

from esupervision.models.base import UTCDateTime  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = 'd4b8f2c6a915'
down_revision: str | Sequence[str] | None = 'c1a7e5f30b28'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""ledger transparency log: tree heads, subtree roots, compact range on the head

The signed checkpoints over chain hashes (ledger_checkpoint) give way to signed tree heads
(ledger_tree_head, published to the witness), the stored subtree roots that proofs are served from
(ledger_tree_node) and the compact range kept on each chain's head (ledger_head.frontier). A chain
written before this revision gets its tree built at its next append or `esv ledger checkpoint`.

Revision ID: aac94e9d6c87
Revises: 4e2653fd0d81
Create Date: 2026-12-07 23:25:59.322337+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

import esupervision.models.base  # noqa: F401  (autogenerate renders UTCDateTime from here)


# revision identifiers, used by Alembic.
revision: str = 'aac94e9d6c87'
down_revision: str | Sequence[str] | None = '4e2653fd0d81'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_tree_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('signed_at', esupervision.models.base.UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_id', 'size', name='uq_ledger_tree_head_size')
    )
    op.create_table('ledger_tree_node',
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('node_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('center_id', 'level', 'node_index')
    )
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checkpoint_center_id'))

    op.drop_table('ledger_checkpoint')
    with op.batch_alter_table('ledger_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frontier', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('ledger_head', schema=None) as batch_op:
        batch_op.drop_column('frontier')

    op.create_table('ledger_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('signed_at', esupervision.models.base.UTCDateTime(), nullable=False),
    sa.Column('public_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_checkpoint_center_id'), ['center_id'], unique=False)

    op.drop_table('ledger_tree_node')
    op.drop_table('ledger_tree_head')

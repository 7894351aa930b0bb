"""Concurrent commits: positions from a sequence, the writing transaction's id on each event,
and the relay's seal chain, whose first row marks where the old global hash chain ends (see
``shared_kernel.schema.upgrade_concurrent_commits``).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
from shared_kernel import schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.upgrade_concurrent_commits(op)


def downgrade() -> None:
    schema.downgrade_concurrent_commits(op)

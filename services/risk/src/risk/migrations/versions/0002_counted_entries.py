"""The exposure inbox's counted ledger entries: one row per posted entry (see
``risk.adapters.counted_entries``) instead of one event stream each.

Revision ID: 0002
"""

from alembic import op
from risk.adapters.counted_entries import metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())

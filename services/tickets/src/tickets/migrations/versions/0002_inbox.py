"""The kernel inbox: other services' events handled exactly once (risk's limit breaches, the
dead-letter notices of every service).

Revision ID: 0002
"""

from alembic import op
from shared_kernel import inbox

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inbox.create_table(op)


def downgrade() -> None:
    inbox.drop_table(op)

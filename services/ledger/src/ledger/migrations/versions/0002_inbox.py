"""The kernel inbox: exactly-once handling of other services' events (risk's answers to
deals, recorded on booking requests by the clearance inbox).

Revision ID: 0002
Revises: 0001
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

"""The kernel's event store, outbox cursor, idempotency keys and read-model generations.

Revision ID: 0001
"""

from alembic import op
from shared_kernel import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.upgrade(op)


def downgrade() -> None:
    schema.downgrade(op)

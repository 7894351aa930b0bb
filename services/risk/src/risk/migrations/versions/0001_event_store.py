"""The kernel's event store, outbox cursor, idempotency keys and read-model generations,
then the risk service's own tables outside read models (if any; append them below).

Revision ID: 0001
"""

from alembic import op
from shared_kernel import inbox, schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.upgrade(op)
    # Tables outside read models (limits, KRIs, inbox): append op.create_table calls here.
    # The kernel inbox (exactly-once handling of other services' events: ledger, tickets).
    inbox.create_table(op)


def downgrade() -> None:
    inbox.drop_table(op)
    schema.downgrade(op)

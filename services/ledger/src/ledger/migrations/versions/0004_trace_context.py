"""Trace context on stored events: nullable ``traceparent`` and ``tracestate`` columns, outside
the hash chains (see ``shared_kernel.schema.upgrade_trace_context`` and ``shared_kernel.tracing``).

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from shared_kernel import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.upgrade_trace_context(op)


def downgrade() -> None:
    schema.downgrade_trace_context(op)

"""The rate limits' token buckets, shared by every gateway (see ``adapters/shared_buckets.py``).

UNLOGGED: a bucket is worth nothing after a crash (a lost row is a full bucket, which errs on
the side of serving), and a table without WAL makes each take cheaper: its commit need not wait
for a WAL flush. No index beyond the key: ``full_at`` changes on every take, and an index on it
would cost every take more than the periodic scan that forgets full buckets saves.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("tokens", sa.Float(precision=53), nullable=False),
        # How many tokens the last take handed out (what it answers).
        sa.Column("last_taken", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # When the bucket is full again: from then on the row says no more than its absence.
        sa.Column("full_at", sa.DateTime(timezone=True), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")

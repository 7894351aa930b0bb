"""Read-model tables of the ledger (placeholder schema ``read_model``, one per generation).

Balances live apart from account details and are maintained by additive upserts, because an
account's events and the entries that book on it may sit on different Kafka partitions and
arrive in any order between partitions.
"""

from __future__ import annotations

import sqlalchemy as sa
from shared_kernel.readmodel import READ_MODEL_SCHEMA

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("account_type", sa.Text, nullable=False),
    sa.Column("normal_side", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

account_balances = sa.Table(
    "account_balances",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("debit_total", sa.BigInteger, nullable=False),
    sa.Column("credit_total", sa.BigInteger, nullable=False),
    sa.Column("line_count", sa.BigInteger, nullable=False),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("voucher_number", sa.Text, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False, unique=True),
)

entry_lines = sa.Table(
    "entry_lines",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("account_code", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("entry_lines_by_account", "account_id", "position", "line_no"),
)

"""Read-model tables of the ledger (placeholder schema ``read_model``, one per generation).

Balances and totals live apart from account details and are maintained by additive upserts,
because an account's events and the entries that book on it may sit on different Kafka
partitions and arrive in any order between partitions: sums commute, so every order ends in
the same figures.

- ``account_balances``: booked totals per account, plus amounts reserved by pending booking
  requests (available balance = booked less reserved on the constrained side).
- ``account_period_totals``: debits and credits per account and month, which makes a trial
  balance over millions of lines a scan of (accounts x months) rows.
- ``account_daily_totals``: the same per booking day, for balances at any past date (whole
  months from the period totals, the rest of the month from these).
"""

from __future__ import annotations

import sqlalchemy as sa
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import JSONB

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
    sa.Column("parent_code", sa.Text, nullable=True),
    sa.Column("balance_constraint", sa.Text, nullable=False, server_default="none"),
    sa.Column("credit_limit", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_by", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("position", sa.BigInteger, nullable=False),
)

account_balances = sa.Table(
    "account_balances",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("debit_total", sa.BigInteger, nullable=False),
    sa.Column("credit_total", sa.BigInteger, nullable=False),
    sa.Column("line_count", sa.BigInteger, nullable=False),
    sa.Column("debit_pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credit_pending", sa.BigInteger, nullable=False, server_default="0"),
)

account_period_totals = sa.Table(
    "account_period_totals",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("debit_total", sa.BigInteger, nullable=False),
    sa.Column("credit_total", sa.BigInteger, nullable=False),
    sa.Column("line_count", sa.BigInteger, nullable=False),
)

account_daily_totals = sa.Table(
    "account_daily_totals",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("booking_date", sa.Date, primary_key=True),
    sa.Column("debit_total", sa.BigInteger, nullable=False),
    sa.Column("credit_total", sa.BigInteger, nullable=False),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("voucher_number", sa.Text, nullable=False),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source_document", sa.Text, nullable=True),
    sa.Column("metadata", JSONB, nullable=False, server_default="{}"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("approved_by", sa.Text, nullable=True),
    sa.Column("request_id", sa.Text, nullable=True),
    sa.Column("reverses", sa.Text, nullable=True),
    sa.Column("reversed_by", sa.Text, nullable=True),
    sa.Column("batch_id", sa.Text, nullable=True),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("position", sa.BigInteger, nullable=False, unique=True),
    sa.Index("journal_entries_by_period", "period", "position"),
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

booking_requests = sa.Table(
    "booking_requests",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("voucher_number", sa.Text, nullable=False),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source_document", sa.Text, nullable=True),
    sa.Column("metadata", JSONB, nullable=False, server_default="{}"),
    sa.Column("submitted_by", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text, nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("entry_id", sa.Text, nullable=True),
    # The case the request belongs to (the submission's correlation id), for linking it.
    sa.Column("correlation_id", sa.Text, nullable=True),
    # Risk clearance of a deal: not_required, awaiting, cleared or refused (with risk's
    # refusal: code, reason, limit, currency and shortfall in minor units).
    sa.Column("clearance_status", sa.Text, nullable=False, server_default="not_required"),
    sa.Column("clearance_code", sa.Text, nullable=True),
    sa.Column("clearance_reason", sa.Text, nullable=True),
    sa.Column("clearance_limit_id", sa.Text, nullable=True),
    sa.Column("clearance_currency", sa.Text, nullable=True),
    sa.Column("clearance_shortfall", sa.BigInteger, nullable=True),
    sa.Column("clearance_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("booking_requests_due", "status", "expires_at"),
    # The period close guard looks for the pending requests of a month.
    sa.Index("booking_requests_pending", "status", "period"),
    # The front office lists only its own requests (shared_kernel.visibility).
    sa.Index("booking_requests_submitter", "submitted_by", "position"),
)

request_lines = sa.Table(
    "request_lines",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("account_code", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
)

periods = sa.Table(
    "periods",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_by", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

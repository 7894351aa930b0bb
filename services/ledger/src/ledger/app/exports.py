"""Data access for auditors (GoBD "Z3"): the journal of a period and the chart of accounts as
CSV files, with a machine-readable description of their structure.

The description follows the structure of the description standard auditors' tools read
(``index.xml`` after the GDPdU/IDEA standard: media, tables with URL, encoding, delimiters,
decimal symbol, columns with type and format, primary and foreign keys), written as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.readmodel import ReadModelStore

from ledger.domain import Currency, parse_period, period_bounds
from ledger.projections.tables import accounts, entry_lines, journal_entries, periods

# (name, type, description); types as in the description standard: AlphaNumeric, Numeric
# (with accuracy, the number of decimal places), Date (with format).
JOURNAL_COLUMNS: list[tuple[str, str, str]] = [
    ("entry_id", "AlphaNumeric", "Unique id of the journal entry (UUID)"),
    ("line_no", "Numeric", "Number of the line within the entry, from 1"),
    ("position", "Numeric", "Position of the entry's event in the hash-chained journal"),
    ("voucher_number", "AlphaNumeric", "Number of the voucher (document) the entry rests on"),
    ("voucher_date", "Date", "Date of the voucher"),
    ("booking_date", "Date", "Booking date: the day the entry belongs to"),
    (
        "entry_date",
        "AlphaNumeric",
        "When the entry was recorded (RFC 3339, UTC), set by the system",
    ),
    ("period", "AlphaNumeric", "Accounting period (month), YYYY-MM"),
    ("text", "AlphaNumeric", "Booking text"),
    ("account_code", "AlphaNumeric", "Code of the account the line books on (see accounts.csv)"),
    ("account_id", "AlphaNumeric", "Id of the account (foreign key to accounts.csv)"),
    ("side", "AlphaNumeric", "debit (Soll) or credit (Haben)"),
    ("amount_minor", "Numeric", "Amount in minor units of the currency (e.g. cents), positive"),
    ("amount", "AlphaNumeric", "The amount in major units, '.' as decimal symbol"),
    ("currency", "AlphaNumeric", "ISO 4217 currency code"),
    ("recorded_by", "AlphaNumeric", "Who entered the entry (or submitted its booking request)"),
    ("approved_by", "AlphaNumeric", "Who approved the booking request (empty if none)"),
    ("request_id", "AlphaNumeric", "Booking request the entry was posted from (empty if none)"),
    ("reverses", "AlphaNumeric", "Entry that this entry reverses (Storno), empty if none"),
    ("reversed_by", "AlphaNumeric", "Entry that reverses this entry, empty if none"),
    ("source_document", "AlphaNumeric", "Reference to the source document"),
    ("metadata", "AlphaNumeric", "Further key-value data as a JSON object"),
]

ACCOUNT_COLUMNS: list[tuple[str, str, str]] = [
    ("account_id", "AlphaNumeric", "Unique id of the account (UUID)"),
    ("code", "AlphaNumeric", "Account code (SKR 03 style; '.' or '-' separate sub-accounts)"),
    ("name", "AlphaNumeric", "Account name"),
    ("account_type", "AlphaNumeric", "asset, liability, equity, revenue or expense"),
    ("normal_side", "AlphaNumeric", "The side on which the balance normally grows"),
    ("currency", "AlphaNumeric", "ISO 4217 currency the account is kept in"),
    ("parent_code", "AlphaNumeric", "Code of the account this one refines (empty if none)"),
    (
        "balance_constraint",
        "AlphaNumeric",
        "none, debits_must_not_exceed_credits or credits_must_not_exceed_debits",
    ),
    ("credit_limit", "Numeric", "How far the constraint may be exceeded, in minor units"),
    ("opened_at", "AlphaNumeric", "When the account was opened (RFC 3339, UTC)"),
    ("closed_at", "AlphaNumeric", "When the account was closed (empty if open)"),
]


def _csv(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in columns])
    for row in rows:
        writer.writerow(["" if row.get(name) is None else row[name] for name, _, _ in columns])
    return out.getvalue()


def _column(name: str, kind: str, description: str) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "description": description}
    if kind == "Numeric":
        column["accuracy"] = 0
    elif kind == "Date":
        column["format"] = "YYYY-MM-DD"
    return column


def _table(
    url: str, name: str, description: str, columns: list[tuple[str, str, str]], **extra: Any
) -> dict[str, Any]:
    return {
        "url": url,
        "name": name,
        "description": description,
        "encoding": "UTF-8",
        "column_delimiter": ",",
        "record_delimiter": "\\r\\n",
        "text_encapsulator": '"',
        "decimal_symbol": ".",
        "digit_grouping_symbol": "",
        "header_rows": 1,
        "columns": [_column(*c) for c in columns],
        **extra,
    }


class LedgerExports:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def journal_csv(self, period: str) -> str:
        """One row per journal line of the period, in journal (position) order."""
        period = parse_period(period)
        e, line = journal_entries, entry_lines
        query = (
            sa.select(
                e.c.entry_id,
                line.c.line_no,
                e.c.position,
                e.c.voucher_number,
                e.c.voucher_date,
                e.c.booking_date,
                e.c.recorded_at,
                e.c.period,
                e.c.text,
                line.c.account_code,
                line.c.account_id,
                line.c.side,
                line.c.amount,
                line.c.currency,
                e.c.recorded_by,
                e.c.approved_by,
                e.c.request_id,
                e.c.reverses,
                e.c.reversed_by,
                e.c.source_document,
                e.c.metadata,
            )
            .join(line, line.c.entry_id == e.c.entry_id)
            .where(e.c.period == period)
            .order_by(e.c.position, line.c.line_no)
        )
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return _csv(JOURNAL_COLUMNS, [_journal_row(r) for r in rows])

    async def accounts_csv(self) -> str:
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(sa.select(accounts).order_by(accounts.c.code))).mappings()
            return _csv(ACCOUNT_COLUMNS, [_account_row(r) for r in rows])

    async def index(self, period: str) -> dict[str, Any]:
        """The description of a period's export: its files and their columns."""
        period = parse_period(period)
        start, end = period_bounds(period)
        async with self._read_model.reading() as conn:
            closed = (
                (await conn.execute(sa.select(periods).where(periods.c.period == period)))
                .mappings()
                .first()
            )
        return {
            "standard": "GoBD data access (Z3); structure of the GDPdU/IDEA description "
            "standard (index.xml), as JSON",
            "version": "1.0",
            "created_at": datetime.now(UTC),
            "data_supplier": {
                "name": "Back office ledger",
                "location": "ledger service",
                "comment": "Journal lines and chart of accounts; amounts in minor units",
            },
            "media": [
                {
                    "name": f"ledger-{period}",
                    "period": period,
                    "period_status": "closed" if closed else "open",
                    "closed_by": closed["closed_by"] if closed else None,
                    "tables": [
                        _table(
                            "journal.csv",
                            "journal",
                            f"Journal (Buchungsjournal) of period {period}, one row per line",
                            JOURNAL_COLUMNS,
                            validity={"from": start, "to": end},
                            primary_key=["entry_id", "line_no"],
                            foreign_keys=[
                                {"columns": ["account_id"], "references": "accounts"},
                            ],
                        ),
                        _table(
                            "accounts.csv",
                            "accounts",
                            "Chart of accounts (Kontenplan)",
                            ACCOUNT_COLUMNS,
                            primary_key=["account_id"],
                        ),
                    ],
                }
            ],
        }


def _journal_row(row: Any) -> dict[str, Any]:
    currency = Currency.of(row["currency"])
    return {
        **row,
        "voucher_date": row["voucher_date"].isoformat(),
        "booking_date": row["booking_date"].isoformat(),
        "entry_date": row["recorded_at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "amount_minor": row["amount"],
        "amount": currency.format(row["amount"]),
        "metadata": json.dumps(row["metadata"], sort_keys=True, ensure_ascii=False),
    }


def _account_row(row: Any) -> dict[str, Any]:
    return {
        **row,
        "opened_at": row["opened_at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "closed_at": row["closed_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
        if row["closed_at"]
        else None,
    }

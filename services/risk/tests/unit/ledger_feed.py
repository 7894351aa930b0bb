"""Ledger events as risk's inbox reads them, for the unit tests of the exposure inbox and deal
clearance: a two-line deal and its booking request or journal entry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.domain.events import BookingRequestSubmitted, JournalEntryPosted, PostedLine

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def line(side: str, amount: int, currency: str = "EUR") -> PostedLine:
    return PostedLine("acc-" + side, "1400" if side == "debit" else "8000", side, amount, currency)


def deal(amount: int, currency: str = "EUR") -> tuple[PostedLine, ...]:
    """A deal's lines: receivable debited, revenue credited."""
    return (line("debit", amount, currency), line("credit", amount, currency))


def posted(
    entry_id: str, lines: tuple[PostedLine, ...], metadata: dict[str, str], **fields: Any
) -> JournalEntryPosted:
    return JournalEntryPosted(
        entry_id, "V-" + entry_id, date(2026, 11, 26), "deal", lines, metadata=metadata, **fields
    )


def submitted(request_id: str, amount: int, metadata: dict[str, str]) -> BookingRequestSubmitted:
    """A trader's booking request of ``amount`` (EUR), pending for three days."""
    return BookingRequestSubmitted(
        request_id,
        "V-" + request_id,
        date(2026, 11, 26),
        date(2026, 11, 26),
        "2026-11",
        "deal",
        deal(amount),
        "user:trader",
        T0 + timedelta(days=3),
        metadata=metadata,
    )

"""The journal: ``JournalEntry``, an aggregate posted once and never edited afterwards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import DomainError

from ledger.domain.accounts import Account
from ledger.domain.events import JournalEntryPosted, PostedLine
from ledger.domain.lines import LineInput, check_lines


class JournalEntry(Aggregate):
    """A journal entry: a voucher-backed, balanced set of lines booked on one date.

    Its id is chosen by the caller. A posted entry is never changed; a correction will be
    a reversal that links to it.
    """

    stream_type = "journal_entry"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.voucher_number = ""
        self.booking_date: date | None = None
        self.text = ""
        self.lines: tuple[PostedLine, ...] = ()

    @classmethod
    def post(
        cls,
        entry_id: str,
        voucher_number: str,
        booking_date: date,
        text: str,
        lines: Sequence[LineInput],
        accounts: Mapping[str, Account],
    ) -> JournalEntry:
        """Post a new entry. ``accounts`` maps account id to account for every line.

        Refuses, with a ``DomainError`` naming the input: a missing voucher number (no
        posting without a voucher), a missing booking date or text, and lines that break
        the rules of double entry (see ``check_lines``).
        """
        voucher_number = _required_text(
            voucher_number,
            field="voucher_number",
            code="VoucherNumberRequired",
            detail="A voucher number is required: there is no posting without a voucher.",
        )
        _check_booking_date(booking_date)
        text = _required_text(
            text, field="text", code="TextRequired", detail="A booking text is required."
        )
        posted = check_lines(lines, accounts)
        entry = cls(entry_id)
        entry._record(
            JournalEntryPosted(
                entry_id=entry_id,
                voucher_number=voucher_number,
                booking_date=booking_date,
                text=text,
                lines=posted,
            )
        )
        return entry

    @property
    def is_posted(self) -> bool:
        """Whether the entry has been posted (an empty stream is not an entry)."""
        return self.booking_date is not None

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case JournalEntryPosted():
                self.voucher_number = event.voucher_number
                self.booking_date = event.booking_date
                self.text = event.text
                self.lines = tuple(event.lines)
            case _:
                raise TypeError(f"JournalEntry cannot apply {type(event).__name__}")


def _required_text(value: str, *, field: str, code: str, detail: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(detail, field=field, code=code)
    return value.strip()


def _check_booking_date(value: date) -> None:
    # A datetime is a date too, but a booking date is a calendar day, not an instant.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise DomainError(
            "A booking date (a calendar day) is required.",
            field="booking_date",
            code="BookingDateRequired",
        )

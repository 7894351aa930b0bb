"""The journal: ``JournalEntry``, an aggregate posted once and never edited afterwards.

A correction is a reversal (Storno): a new entry with the mirrored lines that links to the
original, and a ``JournalEntryReversed`` fact on the original's stream that links back. The
second makes reversing twice impossible: the original's stream has moved on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError

from ledger.domain.accounts import Account
from ledger.domain.events import JournalEntryPosted, JournalEntryReversed, PostedLine
from ledger.domain.lines import LineInput, check_lines
from ledger.domain.periods import FIRST_YEAR, LAST_YEAR, period_of

MAX_METADATA_KEYS = 32
MAX_METADATA_VALUE = 500
MAX_REFERENCE = 500
_METADATA_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class EntryDetails:
    """The GoBD fields of an entry besides its lines: the voucher (document) it rests on,
    when it is booked, what it is about, and free key-value metadata (``counterparty`` and
    ``desk`` are read by the risk service). ``voucher_date`` defaults to the booking date."""

    voucher_number: str
    booking_date: date
    text: str
    voucher_date: date | None = None
    source_document: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def period(self) -> str:
        return period_of(self.booking_date)

    def checked(self) -> EntryDetails:
        """These details with blanks trimmed and defaults filled; refuses a missing voucher
        number (no posting without a voucher), booking date or text, and bad metadata."""
        voucher_number = required_text(
            self.voucher_number,
            field="voucher_number",
            code="VoucherNumberRequired",
            detail="A voucher number is required: there is no posting without a voucher.",
        )
        _check_day(self.booking_date, field="booking_date", code="BookingDateRequired")
        voucher_date = self.booking_date if self.voucher_date is None else self.voucher_date
        _check_day(voucher_date, field="voucher_date", code="VoucherDateInvalid")
        text = required_text(
            self.text, field="text", code="TextRequired", detail="A booking text is required."
        )
        return EntryDetails(
            voucher_number=voucher_number,
            booking_date=self.booking_date,
            text=text,
            voucher_date=voucher_date,
            source_document=_reference(self.source_document),
            metadata=_metadata(self.metadata),
        )


class JournalEntry(Aggregate):
    """A journal entry: a voucher-backed, balanced set of lines booked on one date.

    Its id is chosen by the caller. A posted entry is never changed; a correction is a
    reversal that links to it.
    """

    stream_type = "journal_entry"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.voucher_number = ""
        self.booking_date: date | None = None
        self.text = ""
        self.lines: tuple[PostedLine, ...] = ()
        self.recorded_by: str | None = None
        self.reverses: str | None = None
        self.reversed_by: str | None = None

    @classmethod
    def post(
        cls,
        entry_id: str,
        voucher_number: str,
        booking_date: date,
        text: str,
        lines: Sequence[LineInput],
        accounts: Mapping[str, Account],
        *,
        voucher_date: date | None = None,
        source_document: str | None = None,
        metadata: Mapping[str, str] | None = None,
        recorded_by: str | None = None,
        approved_by: str | None = None,
        request_id: str | None = None,
        reverses: str | None = None,
        batch_id: str | None = None,
    ) -> JournalEntry:
        """Post a new entry. ``accounts`` maps account id to account for every line.

        Refuses, with a ``DomainError`` naming the input: a missing voucher number (no
        posting without a voucher), a missing booking date or text, and lines that break
        the rules of double entry (see ``check_lines``).
        """
        details = EntryDetails(
            voucher_number, booking_date, text, voucher_date, source_document, metadata or {}
        ).checked()
        return cls.post_details(
            entry_id,
            details,
            lines,
            accounts,
            recorded_by=recorded_by,
            approved_by=approved_by,
            request_id=request_id,
            reverses=reverses,
            batch_id=batch_id,
        )

    @classmethod
    def post_details(
        cls,
        entry_id: str,
        details: EntryDetails,
        lines: Sequence[LineInput],
        accounts: Mapping[str, Account],
        *,
        recorded_by: str | None = None,
        approved_by: str | None = None,
        request_id: str | None = None,
        reverses: str | None = None,
        batch_id: str | None = None,
    ) -> JournalEntry:
        """Post from already checked ``details`` (see ``EntryDetails.checked``)."""
        posted = check_lines(lines, accounts)
        entry = cls(entry_id)
        entry._record(
            JournalEntryPosted(
                entry_id=entry_id,
                voucher_number=details.voucher_number,
                booking_date=details.booking_date,
                text=details.text,
                lines=posted,
                voucher_date=details.voucher_date,
                period=details.period,
                source_document=details.source_document,
                metadata=dict(details.metadata),
                recorded_by=recorded_by,
                approved_by=approved_by,
                request_id=request_id,
                reverses=reverses,
                batch_id=batch_id,
            )
        )
        return entry

    @property
    def is_posted(self) -> bool:
        """Whether the entry has been posted (an empty stream is not an entry)."""
        return self.booking_date is not None

    def reverse(self, reversal_entry_id: str, reversed_by: str, reason: str) -> None:
        """Record that ``reversal_entry_id`` reverses this entry. Refused for an entry that
        is already reversed, and for a reversal itself (post a new entry instead)."""
        if self.reversed_by is not None:
            raise Conflict(
                f"Journal entry {self.id} was already reversed by entry {self.reversed_by}; "
                "an entry is reversed at most once.",
                field="entry_id",
                code="EntryAlreadyReversed",
            )
        if self.reverses is not None:
            raise DomainError(
                f"Journal entry {self.id} is itself the reversal of {self.reverses}; "
                "to restore the original booking, post a new entry.",
                field="entry_id",
                code="ReversalNotReversible",
            )
        reason = required_text(
            reason,
            field="reason",
            code="ReasonRequired",
            detail="A reversal needs a reason.",
        )
        self._record(JournalEntryReversed(self.id, reversal_entry_id, reversed_by, reason))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case JournalEntryPosted():
                self.voucher_number = event.voucher_number
                self.booking_date = event.booking_date
                self.text = event.text
                self.lines = tuple(event.lines)
                self.recorded_by = event.recorded_by
                self.reverses = event.reverses
            case JournalEntryReversed():
                self.reversed_by = event.reversal_entry_id
            case _:
                raise TypeError(f"JournalEntry cannot apply {type(event).__name__}")


def required_text(value: str, *, field: str, code: str, detail: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(detail, field=field, code=code)
    return value.strip()


def _check_day(value: date, *, field: str, code: str) -> None:
    # A datetime is a date too, but a booking date is a calendar day, not an instant.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise DomainError(
            f"The {field.replace('_', ' ')} must be a calendar day.", field=field, code=code
        )
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise DomainError(
            f"The {field.replace('_', ' ')} {value.isoformat()} lies outside the years "
            f"{FIRST_YEAR} to {LAST_YEAR} that the books hold.",
            field=field,
            code="DateOutOfRange",
        )


def _reference(value: str | None) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > MAX_REFERENCE:
        raise DomainError(
            f"The source document reference may have at most {MAX_REFERENCE} characters.",
            field="source_document",
            code="InvalidSourceDocument",
        )
    return value.strip()


def _metadata(value: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > MAX_METADATA_KEYS:
        raise DomainError(
            f"Metadata is a map of at most {MAX_METADATA_KEYS} keys to text values.",
            field="metadata",
            code="InvalidMetadata",
        )
    for key, text in value.items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise DomainError(
                f"Metadata key {key!r} must be lower-case letters, digits, '_', '.' or '-', "
                "starting with a letter (at most 64 characters).",
                field=f"metadata.{key}",
                code="InvalidMetadata",
            )
        if not isinstance(text, str) or len(text) > MAX_METADATA_VALUE:
            raise DomainError(
                f"Metadata value of {key!r} must be text of at most {MAX_METADATA_VALUE} "
                "characters.",
                field=f"metadata.{key}",
                code="InvalidMetadata",
            )
    return dict(value)

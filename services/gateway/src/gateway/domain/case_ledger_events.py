"""The ledger's events as the case timeline reads them (see ``case_events``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class Line:
    """One line of a journal entry or booking request (minor units)."""

    side: str
    amount: int
    currency: str


@dataclass(frozen=True)
class BookingRequestSubmitted(DomainEvent):
    event_type = "ledger.BookingRequestSubmitted"

    request_id: str
    text: str
    lines: tuple[Line, ...]
    submitted_by: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BookingRequestApproved(DomainEvent):
    event_type = "ledger.BookingRequestApproved"

    request_id: str
    entry_id: str
    approved_by: str


@dataclass(frozen=True)
class BookingRequestRejected(DomainEvent):
    event_type = "ledger.BookingRequestRejected"

    request_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class BookingRequestExpired(DomainEvent):
    event_type = "ledger.BookingRequestExpired"

    request_id: str


@dataclass(frozen=True)
class BookingRequestCleared(DomainEvent):
    event_type = "ledger.BookingRequestCleared"

    request_id: str


@dataclass(frozen=True)
class BookingRequestRefused(DomainEvent):
    event_type = "ledger.BookingRequestRefused"

    request_id: str
    code: str
    reason: str
    currency: str
    limit_id: str | None = None
    shortfall: int | None = None


@dataclass(frozen=True)
class JournalEntryPosted(DomainEvent):
    event_type = "ledger.JournalEntryPosted"

    entry_id: str
    voucher_number: str
    text: str
    lines: tuple[Line, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    reverses: str | None = None


@dataclass(frozen=True)
class JournalEntryReversed(DomainEvent):
    event_type = "ledger.JournalEntryReversed"

    entry_id: str
    reversal_entry_id: str
    reversed_by: str
    reason: str


@dataclass(frozen=True)
class AccountOpened(DomainEvent):
    event_type = "ledger.AccountOpened"

    code: str
    name: str
    currency: str


@dataclass(frozen=True)
class AccountClosed(DomainEvent):
    event_type = "ledger.AccountClosed"

    closed_by: str
    reason: str


@dataclass(frozen=True)
class AccountRenamed(DomainEvent):
    event_type = "ledger.AccountRenamed"

    name: str
    renamed_by: str


@dataclass(frozen=True)
class PeriodClosed(DomainEvent):
    event_type = "ledger.PeriodClosed"

    period: str
    closed_by: str


LEDGER_EVENTS: tuple[type[DomainEvent], ...] = (
    BookingRequestSubmitted,
    BookingRequestApproved,
    BookingRequestRejected,
    BookingRequestExpired,
    BookingRequestCleared,
    BookingRequestRefused,
    JournalEntryPosted,
    JournalEntryReversed,
    AccountOpened,
    AccountClosed,
    AccountRenamed,
    PeriodClosed,
)

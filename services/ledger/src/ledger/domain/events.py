"""Events of the ledger: facts in the past tense, with JSON-friendly fields only.

Enumerations travel as their string values (``"asset"``, ``"debit"``) and currencies as
ISO 4217 codes, so the wire format does not depend on Python class names.

Fields added after an event type was first published carry defaults, so that events stored
before (which lack them) still read; readers treat a missing value as "not recorded then".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class AccountOpened(DomainEvent):
    """An account was opened in the chart of accounts.

    ``balance_constraint`` is ``"none"``, ``"debits_must_not_exceed_credits"`` or
    ``"credits_must_not_exceed_debits"``; ``credit_limit`` (minor units) is how far a
    constrained account may go past its constraint."""

    event_type: ClassVar[str] = "ledger.AccountOpened"
    version: ClassVar[int] = 1

    account_id: str
    code: str
    name: str
    account_type: str
    currency: str
    parent_code: str | None = None
    balance_constraint: str = "none"
    credit_limit: int = 0


@dataclass(frozen=True)
class AccountClosed(DomainEvent):
    """An account was closed: nothing may be booked or reserved on it any more."""

    event_type: ClassVar[str] = "ledger.AccountClosed"
    version: ClassVar[int] = 1

    account_id: str
    closed_by: str
    reason: str


@dataclass(frozen=True)
class AccountRenamed(DomainEvent):
    """An account got a new name; its code, type and currency stay. ``reason`` says why
    (master data changes are traceable like everything else in the books)."""

    event_type: ClassVar[str] = "ledger.AccountRenamed"
    version: ClassVar[int] = 1

    account_id: str
    name: str
    renamed_by: str
    reason: str


@dataclass(frozen=True)
class AccountPostingRecorded(DomainEvent):
    """A posted entry moved a constrained account by these amounts (minor units).

    Recorded on the account's own stream so that concurrent postings on one constrained
    account are serialised by its stream version: the balance check is exact."""

    event_type: ClassVar[str] = "ledger.AccountPostingRecorded"
    version: ClassVar[int] = 1

    account_id: str
    entry_id: str
    debit: int
    credit: int


@dataclass(frozen=True)
class AccountFundsReserved(DomainEvent):
    """A pending booking request reserved these amounts on a constrained account."""

    event_type: ClassVar[str] = "ledger.AccountFundsReserved"
    version: ClassVar[int] = 1

    account_id: str
    request_id: str
    debit: int
    credit: int


@dataclass(frozen=True)
class AccountReservationReleased(DomainEvent):
    """A booking request's reservation on a constrained account ended: ``outcome`` is
    ``approved`` (the amounts are posted instead), ``rejected`` or ``expired``."""

    event_type: ClassVar[str] = "ledger.AccountReservationReleased"
    version: ClassVar[int] = 1

    account_id: str
    request_id: str
    debit: int
    credit: int
    outcome: str


@dataclass(frozen=True)
class PostedLine:
    """One line of a posted journal entry: an amount in minor units on one side of an account.

    ``account_code`` is copied from the account at posting time so that the journal reads
    on its own, without looking the account up.
    """

    account_id: str
    account_code: str
    side: str
    amount: int
    currency: str

    @property
    def signed_amount(self) -> int:
        """The amount with debits positive and credits negative."""
        return self.amount if self.side == "debit" else -self.amount


@dataclass(frozen=True)
class JournalEntryPosted(DomainEvent):
    """A balanced journal entry was posted to the journal, with its GoBD fields.

    ``recorded_by`` entered it, ``approved_by`` approved it (a booking request's second pair
    of eyes); ``request_id`` is the booking request it came from, ``reverses`` the entry it
    reverses (Storno), ``batch_id`` the bulk posting it was part of. The entry date is the
    event's own time, set by the system."""

    event_type: ClassVar[str] = "ledger.JournalEntryPosted"
    version: ClassVar[int] = 1

    entry_id: str
    voucher_number: str
    booking_date: date
    text: str
    lines: tuple[PostedLine, ...]
    voucher_date: date | None = None
    period: str = ""
    source_document: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    recorded_by: str | None = None
    approved_by: str | None = None
    request_id: str | None = None
    reverses: str | None = None
    batch_id: str | None = None


@dataclass(frozen=True)
class JournalEntryReversed(DomainEvent):
    """The entry was reversed by ``reversal_entry_id`` (recorded on the original's stream, so
    that a second reversal, even a concurrent one, meets a changed stream)."""

    event_type: ClassVar[str] = "ledger.JournalEntryReversed"
    version: ClassVar[int] = 1

    entry_id: str
    reversal_entry_id: str
    reversed_by: str
    reason: str


@dataclass(frozen=True)
class BookingRequestSubmitted(DomainEvent):
    """A pending entry awaiting a back-office approval; its amounts are reserved on the
    constrained accounts it touches until it is approved, rejected or expires."""

    event_type: ClassVar[str] = "ledger.BookingRequestSubmitted"
    version: ClassVar[int] = 1

    request_id: str
    voucher_number: str
    voucher_date: date
    booking_date: date
    period: str
    text: str
    lines: tuple[PostedLine, ...]
    submitted_by: str
    expires_at: datetime
    source_document: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BookingRequestApproved(DomainEvent):
    """A second person of the back office approved the request; it was posted as
    ``entry_id``."""

    event_type: ClassVar[str] = "ledger.BookingRequestApproved"
    version: ClassVar[int] = 1

    request_id: str
    entry_id: str
    approved_by: str


@dataclass(frozen=True)
class BookingRequestRejected(DomainEvent):
    """The back office rejected the request; its reservations were released."""

    event_type: ClassVar[str] = "ledger.BookingRequestRejected"
    version: ClassVar[int] = 1

    request_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class BookingRequestExpired(DomainEvent):
    """Nobody decided on the request in time; its reservations were released."""

    event_type: ClassVar[str] = "ledger.BookingRequestExpired"
    version: ClassVar[int] = 1

    request_id: str
    expired_at: datetime


@dataclass(frozen=True)
class BookingRequestCleared(DomainEvent):
    """Risk cleared the deal: it may now be approved (recorded by the clearance inbox, in the
    deal's case, caused by risk's ``DealCleared``)."""

    event_type: ClassVar[str] = "ledger.BookingRequestCleared"
    version: ClassVar[int] = 1

    request_id: str
    at: datetime


@dataclass(frozen=True)
class BookingRequestRefused(DomainEvent):
    """Risk refused the deal (``code`` ``NoActiveLimit`` or ``LimitExceeded``; ``reason`` names
    the limit and the shortfall, in minor units of ``currency``): it cannot be approved unless
    a re-check clears it later."""

    event_type: ClassVar[str] = "ledger.BookingRequestRefused"
    version: ClassVar[int] = 1

    request_id: str
    code: str
    reason: str
    limit_id: str | None
    currency: str
    shortfall: int | None
    at: datetime


@dataclass(frozen=True)
class PeriodClosed(DomainEvent):
    """A month was closed (Festschreibung): nothing may be booked into it any more."""

    event_type: ClassVar[str] = "ledger.PeriodClosed"
    version: ClassVar[int] = 1

    period: str
    closed_by: str


@dataclass(frozen=True)
class VoucherNumberClaimed(DomainEvent):
    """A voucher number was taken in a fiscal year: by a posted entry (``entry_id``) or, while
    a booking request waits for its decision, by that request (``request_id`` alone). An
    approved request's entry claims the number its request held (both ids set)."""

    event_type: ClassVar[str] = "ledger.VoucherNumberClaimed"
    version: ClassVar[int] = 1

    fiscal_year: int
    voucher_number: str
    entry_id: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class VoucherNumberReleased(DomainEvent):
    """A booking request that held a voucher number ended without an entry (``outcome`` is
    ``rejected`` or ``expired``): the number is free again."""

    event_type: ClassVar[str] = "ledger.VoucherNumberReleased"
    version: ClassVar[int] = 1

    fiscal_year: int
    voucher_number: str
    request_id: str
    outcome: str


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    AccountOpened,
    AccountClosed,
    AccountRenamed,
    AccountPostingRecorded,
    AccountFundsReserved,
    AccountReservationReleased,
    JournalEntryPosted,
    JournalEntryReversed,
    BookingRequestSubmitted,
    BookingRequestApproved,
    BookingRequestRejected,
    BookingRequestExpired,
    BookingRequestCleared,
    BookingRequestRefused,
    PeriodClosed,
    VoucherNumberClaimed,
    VoucherNumberReleased,
)

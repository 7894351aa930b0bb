"""The ledger's events as the risk service reads them: its side of the published language.

The risk service deploys alone and shares no code with the ledger but the kernel, so it keeps
its own classes of the ledger events it reads, with only the fields it uses. The inbox decodes
and validates every ledger event of these types with them (and with upcasters, when the
ledger publishes a new version); a malformed one goes to the dead letters, never into an
exposure. The ledger's other event types are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class LedgerLine:
    """One line of an entry or request: an amount in minor units on one side."""

    side: Literal["debit", "credit"]
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a ledger line's amount must be positive, not {self.amount}")


def _require_lines(lines: tuple[LedgerLine, ...]) -> None:
    if not lines:
        raise ValueError("a ledger entry or request has lines")


@dataclass(frozen=True)
class JournalEntryPosted(DomainEvent):
    event_type = "ledger.JournalEntryPosted"

    entry_id: str
    lines: tuple[LedgerLine, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None
    reverses: str | None = None

    def __post_init__(self) -> None:
        _require_lines(self.lines)


@dataclass(frozen=True)
class BookingRequestSubmitted(DomainEvent):
    event_type = "ledger.BookingRequestSubmitted"

    request_id: str
    lines: tuple[LedgerLine, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require_lines(self.lines)


@dataclass(frozen=True)
class BookingRequestRejected(DomainEvent):
    event_type = "ledger.BookingRequestRejected"

    request_id: str


@dataclass(frozen=True)
class BookingRequestExpired(DomainEvent):
    event_type = "ledger.BookingRequestExpired"

    request_id: str


LEDGER_EVENTS: tuple[type[DomainEvent], ...] = (
    JournalEntryPosted,
    BookingRequestSubmitted,
    BookingRequestRejected,
    BookingRequestExpired,
)

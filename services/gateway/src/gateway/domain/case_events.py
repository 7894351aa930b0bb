"""The other services' events as the case timeline reads them: its side of the published language.

The gateway shares no code with the ledger, risk or tickets but the kernel, so, like every
reader of another service's events, it keeps its own classes with only the fields its
summaries use. An event of a type listed here whose data does not fit (a field missing, a
newer version) is still on the timeline, with the generic summary: the timeline shows every
event of a case and never refuses one. The gateway's own events are read with its own classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared_kernel.domain import DomainEvent

from gateway.domain.events import EVENTS as GATEWAY_EVENTS


@dataclass(frozen=True)
class Line:
    """One line of a journal entry or booking request (minor units)."""

    side: str
    amount: int
    currency: str


# --- ledger -------------------------------------------------------------------------------


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


# --- risk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitCheck:
    """One limit a deal was checked against."""

    limit_id: str
    currency: str
    limit_amount: int
    headroom_after: int


@dataclass(frozen=True)
class DealCleared(DomainEvent):
    event_type = "risk.DealCleared"

    request_id: str
    checks: tuple[LimitCheck, ...] = ()
    recheck: bool = False


@dataclass(frozen=True)
class DealRefused(DomainEvent):
    event_type = "risk.DealRefused"

    request_id: str
    code: str
    reason: str
    currency: str
    amount: int
    counterparty: str | None = None
    desk: str | None = None
    limit_id: str | None = None
    shortfall: int | None = None


@dataclass(frozen=True)
class LimitUsage(DomainEvent):
    """The fields every threshold crossing carries (breach, warning, back within)."""

    event_type = "risk.ThresholdCrossed"

    limit_id: str
    dimension: str
    currency: str
    exposure: int
    limit_amount: int
    utilisation_bp: int
    counterparty: str | None = None
    desk: str | None = None


@dataclass(frozen=True)
class LimitBreached(LimitUsage):
    event_type = "risk.LimitBreached"


@dataclass(frozen=True)
class LimitWarningReached(LimitUsage):
    event_type = "risk.LimitWarningReached"


@dataclass(frozen=True)
class LimitBackWithinThreshold(LimitUsage):
    event_type = "risk.LimitBackWithinThreshold"

    threshold: str = "limit"


@dataclass(frozen=True)
class LimitBreachMeasuresRecorded(DomainEvent):
    event_type = "risk.LimitBreachMeasuresRecorded"

    limit_id: str
    measures: str
    recorded_by: str


@dataclass(frozen=True)
class LimitChangeRequested(DomainEvent):
    event_type = "risk.LimitChangeRequested"

    limit_id: str
    change: str
    currency: str
    amount: int
    reason: str
    requested_by: str
    counterparty: str | None = None
    desk: str | None = None


@dataclass(frozen=True)
class LimitChangeApproved(DomainEvent):
    event_type = "risk.LimitChangeApproved"

    limit_id: str
    currency: str
    amount: int
    approved_by: str


@dataclass(frozen=True)
class LimitChangeRejected(DomainEvent):
    event_type = "risk.LimitChangeRejected"

    limit_id: str
    reason: str
    rejected_by: str


@dataclass(frozen=True)
class ExposureChanged(DomainEvent):
    event_type = "risk.ExposureChanged"

    dimension: str
    currency: str
    posted_delta: int
    pending_delta: int
    counterparty: str | None = None
    desk: str | None = None


@dataclass(frozen=True)
class KriStatusChanged(DomainEvent):
    event_type = "risk.KriStatusChanged"

    kri_id: str
    to_status: str
    value: float
    from_status: str | None = None


@dataclass(frozen=True)
class RiskIdentified(DomainEvent):
    event_type = "risk.RiskIdentified"

    title: str
    by: str


# --- tickets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    event_type = "tickets.TicketOpened"

    ticket_type: str
    priority: int
    queue_id: str
    title: str
    requester: str


@dataclass(frozen=True)
class TicketNoteAdded(DomainEvent):
    event_type = "tickets.TicketNoteAdded"

    author: str
    body: str


@dataclass(frozen=True)
class TicketReplied(DomainEvent):
    event_type = "tickets.TicketReplied"

    author: str
    body: str


@dataclass(frozen=True)
class TicketStatusChanged(DomainEvent):
    event_type = "tickets.TicketStatusChanged"

    status: str
    previous_status: str
    reason: str = ""


@dataclass(frozen=True)
class TicketAssigned(DomainEvent):
    event_type = "tickets.TicketAssigned"

    assignee: str


@dataclass(frozen=True)
class TicketPriorityChanged(DomainEvent):
    event_type = "tickets.TicketPriorityChanged"

    priority: int
    previous_priority: int
    reason: str = ""


@dataclass(frozen=True)
class TicketEscalated(DomainEvent):
    event_type = "tickets.TicketEscalated"

    escalated_to: str
    reason: str = ""


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    event_type = "tickets.SlaBreached"

    clock: str
    priority: int


@dataclass(frozen=True)
class SlaWarningRaised(DomainEvent):
    event_type = "tickets.SlaWarningRaised"

    clock: str
    priority: int


@dataclass(frozen=True)
class TicketRated(DomainEvent):
    event_type = "tickets.TicketRated"

    rating: int
    rated_by: str
    comment: str = ""


@dataclass(frozen=True)
class AlertRecorded(DomainEvent):
    event_type = "tickets.AlertRecorded"

    host: str
    check: str
    state: str
    summary: str = ""


CASE_EVENTS: tuple[type[DomainEvent], ...] = (
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
    DealCleared,
    DealRefused,
    LimitBreached,
    LimitWarningReached,
    LimitBackWithinThreshold,
    LimitBreachMeasuresRecorded,
    LimitChangeRequested,
    LimitChangeApproved,
    LimitChangeRejected,
    ExposureChanged,
    KriStatusChanged,
    RiskIdentified,
    TicketOpened,
    TicketNoteAdded,
    TicketReplied,
    TicketStatusChanged,
    TicketAssigned,
    TicketPriorityChanged,
    TicketEscalated,
    SlaBreached,
    SlaWarningRaised,
    TicketRated,
    AlertRecorded,
    *GATEWAY_EVENTS,
)

"""Events of limits (one stream per limit), their breaches' measures, and LIMIT_EVENTS: every
event class of the limits part of the risk service (limits, exposures, crossings).

A limit is changed only by a request that a second person approves: ``LimitChangeRequested``
then ``LimitChangeApproved`` (a new version, its terms copied in, so every version reads on
its own) or ``LimitChangeRejected``. Amounts are minor units; shares are basis points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared_kernel.domain import DomainEvent

from risk.domain.exposure_events import EXPOSURE_EVENTS


@dataclass(frozen=True)
class LimitChangeRequested(DomainEvent):
    """Someone asked to create (``change = "create"``) or change a limit to these terms."""

    event_type = "risk.LimitChangeRequested"

    limit_id: str
    request_id: str
    change: str
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    amount: int
    warning_threshold_bp: int
    valid_from: datetime
    valid_to: datetime | None
    reason: str
    requested_by: str
    at: datetime


@dataclass(frozen=True)
class LimitChangeApproved(DomainEvent):
    """A second person approved the pending request: ``limit_version`` is now the limit."""

    event_type = "risk.LimitChangeApproved"

    limit_id: str
    request_id: str
    limit_version: int
    dimension: str
    counterparty: str | None
    desk: str | None
    currency: str
    amount: int
    warning_threshold_bp: int
    valid_from: datetime
    valid_to: datetime | None
    requested_by: str
    approved_by: str
    at: datetime


@dataclass(frozen=True)
class LimitChangeRejected(DomainEvent):
    """A second person (``rejected_by``) rejected the pending request to create or change
    a limit."""

    event_type = "risk.LimitChangeRejected"

    limit_id: str
    request_id: str
    reason: str
    rejected_by: str
    at: datetime


@dataclass(frozen=True)
class LimitBreachMeasuresRecorded(DomainEvent):
    """A back-office user recorded what was done about a breach (stream per breach)."""

    event_type = "risk.LimitBreachMeasuresRecorded"

    breach_id: str
    limit_id: str
    measures: str
    recorded_by: str
    at: datetime


LIMIT_EVENTS: tuple[type[DomainEvent], ...] = (
    LimitChangeRequested,
    LimitChangeApproved,
    LimitChangeRejected,
    LimitBreachMeasuresRecorded,
    *EXPOSURE_EVENTS,
)

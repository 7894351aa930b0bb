"""Risk's events as the case timeline reads them (see ``case_events``)."""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.domain import DomainEvent


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
    recheck: bool = False


@dataclass(frozen=True)
class DealReleased(DomainEvent):
    event_type = "risk.DealReleased"

    outcome: str
    reserved: bool


@dataclass(frozen=True)
class DealPosted(DomainEvent):
    event_type = "risk.DealPosted"

    entry_id: str
    reserved: bool


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


RISK_EVENTS: tuple[type[DomainEvent], ...] = (
    DealCleared,
    DealRefused,
    DealReleased,
    DealPosted,
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
)

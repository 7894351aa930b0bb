"""Events of the risk register: one stream per risk (``stream_type = "risk"``).

Every event names who (``by``) and when (``at``, from the service clock) and, for changes,
why (``reason``). Events that change the rating carry the resulting ``Assessment`` and the
review date, so the read model never needs the (configurable) matrix: a rebuild shows what
was decided then, even after the matrix changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared_kernel.domain import DomainEvent

from risk.domain.scoring import Effectiveness, Rating, Reduces


@dataclass(frozen=True)
class Assessment:
    """The inherent rating and the residual one after the risk's controls."""

    inherent: Rating
    residual: Rating


@dataclass(frozen=True)
class RiskIdentified(DomainEvent):
    """A risk was entered in the register with its owner, category and first assessment."""

    event_type = "risk.RiskIdentified"

    risk_id: str
    title: str
    description: str
    category: str
    owner: str
    assessment: Assessment
    review_due: date
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskDetailsChanged(DomainEvent):
    """A risk's title, description, category or owner changed."""

    event_type = "risk.RiskDetailsChanged"

    risk_id: str
    title: str
    description: str
    category: str
    owner: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskReassessed(DomainEvent):
    """A new likelihood/impact; a reassessment is a review, so it moves the review date."""

    event_type = "risk.RiskReassessed"

    risk_id: str
    assessment: Assessment
    review_due: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskControlAdded(DomainEvent):
    """A control was added to a risk; ``assessment`` is the risk's rating with it."""

    event_type = "risk.RiskControlAdded"

    risk_id: str
    control_id: str
    name: str
    description: str
    effectiveness: Effectiveness
    reduces: Reduces
    assessment: Assessment
    review_due: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskControlChanged(DomainEvent):
    """A control of a risk changed; ``assessment`` is the risk's rating after the change."""

    event_type = "risk.RiskControlChanged"

    risk_id: str
    control_id: str
    name: str
    description: str
    effectiveness: Effectiveness
    reduces: Reduces
    assessment: Assessment
    review_due: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskControlRemoved(DomainEvent):
    """A control was removed from a risk; ``assessment`` is the risk's rating without it."""

    event_type = "risk.RiskControlRemoved"

    risk_id: str
    control_id: str
    assessment: Assessment
    review_due: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskTreatmentSet(DomainEvent):
    """How the risk is treated was set: ``treatment`` is mitigate, accept, transfer or avoid."""

    event_type = "risk.RiskTreatmentSet"

    risk_id: str
    treatment: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskActionPlanned(DomainEvent):
    """An action to treat the risk was planned, with an owner and a ``due_date``."""

    event_type = "risk.RiskActionPlanned"

    risk_id: str
    action_id: str
    title: str
    owner: str
    due_date: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskActionChanged(DomainEvent):
    """New title, owner or due date (rescheduling) of an open action."""

    event_type = "risk.RiskActionChanged"

    risk_id: str
    action_id: str
    title: str
    owner: str
    due_date: date
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskActionCompleted(DomainEvent):
    """A planned action of the risk was completed."""

    event_type = "risk.RiskActionCompleted"

    risk_id: str
    action_id: str
    note: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskReviewed(DomainEvent):
    """The risk was reviewed without a change of rating; the next review is due ``review_due``."""

    event_type = "risk.RiskReviewed"

    risk_id: str
    note: str
    review_due: date
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskClosed(DomainEvent):
    """The risk was closed: it no longer needs treatment or review."""

    event_type = "risk.RiskClosed"

    risk_id: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskAcceptanceRequested(DomainEvent):
    """Someone asked to accept the risk as it is, ``until`` a date (a four-eyes request)."""

    event_type = "risk.RiskAcceptanceRequested"

    risk_id: str
    acceptance_id: str
    reason: str
    until: date
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskAcceptanceApproved(DomainEvent):
    """A second person approved accepting the risk ``until`` a date."""

    event_type = "risk.RiskAcceptanceApproved"

    risk_id: str
    acceptance_id: str
    note: str
    until: date
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskAcceptanceRejected(DomainEvent):
    """A second person rejected the request to accept the risk."""

    event_type = "risk.RiskAcceptanceRejected"

    risk_id: str
    acceptance_id: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class RiskAcceptanceExpired(DomainEvent):
    """The acceptance's time is up; ``review_due`` is its last day, so the risk's review is
    overdue at once."""

    event_type = "risk.RiskAcceptanceExpired"

    risk_id: str
    acceptance_id: str
    until: date
    review_due: date
    by: str
    at: datetime


REGISTER_EVENTS: tuple[type[DomainEvent], ...] = (
    RiskIdentified,
    RiskDetailsChanged,
    RiskReassessed,
    RiskControlAdded,
    RiskControlChanged,
    RiskControlRemoved,
    RiskTreatmentSet,
    RiskActionPlanned,
    RiskActionChanged,
    RiskActionCompleted,
    RiskReviewed,
    RiskClosed,
    RiskAcceptanceRequested,
    RiskAcceptanceApproved,
    RiskAcceptanceRejected,
    RiskAcceptanceExpired,
)

"""Events of the key risk indicators (KRIs): facts in the past tense, JSON-friendly fields.

Statuses, directions and sources travel as their string values (``"amber"``,
``"higher_is_worse"``, ``"measurement"``), so the wire format does not depend on Python names.
A status that was never measured is ``None`` (JSON ``null``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class KriDefined(DomainEvent):
    """A key risk indicator was defined with its thresholds and where its values come from.

    ``source`` is ``"measurement"`` (systems post values) or ``"stream"`` (the service counts
    them from an event stream named by ``stream_rule``)."""

    event_type: ClassVar[str] = "risk.KriDefined"
    version: ClassVar[int] = 1

    kri_id: str
    name: str
    description: str
    unit: str
    direction: str
    amber: float
    red: float
    source: str
    stream_rule: str | None
    owner: str
    defined_by: str


@dataclass(frozen=True)
class KriDetailsChanged(DomainEvent):
    """The name, description, unit or owner of a KRI changed (all four as they are now)."""

    event_type: ClassVar[str] = "risk.KriDetailsChanged"
    version: ClassVar[int] = 1

    kri_id: str
    name: str
    description: str
    unit: str
    owner: str
    changed_by: str
    reason: str


@dataclass(frozen=True)
class KriThresholdChangeRequested(DomainEvent):
    """Someone asked for new thresholds (and possibly direction); a second risk officer
    decides (four-eyes), until then the old thresholds stay in force."""

    event_type: ClassVar[str] = "risk.KriThresholdChangeRequested"
    version: ClassVar[int] = 1

    kri_id: str
    change_id: str
    direction: str
    amber: float
    red: float
    requested_by: str
    reason: str


@dataclass(frozen=True)
class KriThresholdsChanged(DomainEvent):
    """A requested threshold change was approved by a second person and is now in force."""

    event_type: ClassVar[str] = "risk.KriThresholdsChanged"
    version: ClassVar[int] = 1

    kri_id: str
    change_id: str
    direction: str
    amber: float
    red: float
    previous_direction: str
    previous_amber: float
    previous_red: float
    requested_by: str
    approved_by: str
    reason: str
    note: str


@dataclass(frozen=True)
class KriThresholdChangeRejected(DomainEvent):
    """A requested threshold change was rejected (or withdrawn by its requester)."""

    event_type: ClassVar[str] = "risk.KriThresholdChangeRejected"
    version: ClassVar[int] = 1

    kri_id: str
    change_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class KriMeasurementRecorded(DomainEvent):
    """A value of the KRI was measured.

    ``status`` is the status of this value under the thresholds in force when it was
    recorded. ``current`` is false for an out-of-order measurement (measured before the latest
    one): it is kept in the history but did not change the KRI's current value or status."""

    event_type: ClassVar[str] = "risk.KriMeasurementRecorded"
    version: ClassVar[int] = 1

    kri_id: str
    measurement_id: str
    value: float
    measured_at: datetime
    source: str
    recorded_by: str
    status: str
    current: bool


@dataclass(frozen=True)
class KriStatusChanged(DomainEvent):
    """The KRI's current status changed (``from_status`` is ``None`` before its first value).

    ``cause`` is ``"measurement"`` (the measurement named here moved it) or
    ``"thresholds_changed"`` (the latest measurement, named here, meets new thresholds)."""

    event_type: ClassVar[str] = "risk.KriStatusChanged"
    version: ClassVar[int] = 1

    kri_id: str
    from_status: str | None
    to_status: str
    value: float
    measurement_id: str
    measured_at: datetime
    cause: str


@dataclass(frozen=True)
class WatchedTicketRecorded(DomainEvent):
    """The facts of a tickets-service ticket that a stream-fed KRI counts (type, priority,
    status), as of the tickets event ``source_event_id``. Kept in the risk service's own
    streams so that counts are exact and replays change nothing."""

    event_type: ClassVar[str] = "risk.WatchedTicketRecorded"
    version: ClassVar[int] = 1

    ticket_id: str
    ticket_type: str
    priority: int
    status: str
    source_event_id: str
    source_event_type: str


@dataclass(frozen=True)
class KriValueCleared(DomainEvent):
    """A measurement of the KRI found nothing to measure (say no ratings left in its window):
    the KRI has no current value and no status (``from_status`` was its status) until the
    next value. Recorded only when the KRI had a value."""

    event_type: ClassVar[str] = "risk.KriValueCleared"
    version: ClassVar[int] = 1

    kri_id: str
    measurement_id: str
    measured_at: datetime
    from_status: str | None
    source: str
    recorded_by: str
    reason: str


@dataclass(frozen=True)
class KriWindowEntryRecorded(DomainEvent):
    """One source event a rolling-window KRI counts (an SLA breach, a rating), kept in the
    risk service's own day stream ``kri-window:<kri_id>:<day>`` so that the window's value can
    be measured again at any time, and a replay changes nothing. ``value`` is what the entry
    adds (1 for a breach, the rating for a rating); ``at`` is when it happened (``day`` is its
    UTC day)."""

    event_type: ClassVar[str] = "risk.KriWindowEntryRecorded"
    version: ClassVar[int] = 1

    kri_id: str
    day: date
    entry_id: str
    value: float
    at: datetime
    source_event_type: str


KRI_EVENTS: tuple[type[DomainEvent], ...] = (
    KriDefined,
    KriDetailsChanged,
    KriThresholdChangeRequested,
    KriThresholdsChanged,
    KriThresholdChangeRejected,
    KriMeasurementRecorded,
    KriStatusChanged,
    WatchedTicketRecorded,
    KriValueCleared,
    KriWindowEntryRecorded,
)

"""Key risk indicators (KRIs): early warnings with green / amber / red thresholds.

A KRI has a direction. ``higher_is_worse`` (open critical incidents, failed payments): the
value is amber from the amber threshold on and red from the red threshold on, so amber < red.
``lower_is_worse`` (liquidity coverage ratio): amber at or below the amber threshold, red at or
below the red one, so amber > red. Reaching a threshold counts as crossing it.

Values come from measurements (posted by systems, or counted by the service from an event
stream). The status of the latest measurement is the KRI's status; a change of that status is
an event recorded in the same commit as the measurement, so it is emitted exactly once and a
replay of the stream never emits it again.

Threshold changes follow the four-eyes principle: one risk officer requests new thresholds,
a second one (back office, ``risk-officer``, never the requester) approves them; until then the
old ones stay in force, so nobody can quietly move a red indicator back to green. The requester
(or anyone with the role) may reject a pending request. On approval the latest value is judged
again, and a changed status is recorded as a status change.

Out-of-order measurements: a measurement older than the latest one (``measured_at`` before the
latest ``measured_at``) is recorded in the history, with the status its value has, but it
changes neither the current value nor the current status; the newer measurement stays the
truth. One measured at the same instant as the latest replaces it (a correction).

No value: a stream-fed KRI over a rolling window may find nothing to measure (no ratings in
the window, so no average). Its value is then cleared: no current value and no status (shown
as unmeasured, never as red) until the next value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.errors import Conflict, DomainError, NotFound
from shared_kernel.four_eyes import ensure_four_eyes
from shared_kernel.identity import Caller
from shared_kernel.roles import Role

from risk.domain.kri_events import (
    KriDefined,
    KriDetailsChanged,
    KriMeasurementRecorded,
    KriStatusChanged,
    KriThresholdChangeRejected,
    KriThresholdChangeRequested,
    KriThresholdsChanged,
    KriValueCleared,
)

STREAM_PREFIX = "kri:"
KRI_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# A measurement may be stamped a little ahead of the service's clock (clock skew between
# systems), but not further: a far-future value would hide every later one as "out of order".
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Direction(StrEnum):
    HIGHER_IS_WORSE = "higher_is_worse"
    LOWER_IS_WORSE = "lower_is_worse"


class KriStatus(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class KriSource(StrEnum):
    MEASUREMENT = "measurement"
    STREAM = "stream"


@dataclass(frozen=True)
class Thresholds:
    """Amber and red thresholds in a direction; build with :meth:`of` to validate."""

    direction: Direction
    amber: float
    red: float

    @classmethod
    def of(cls, direction: str, amber: float, red: float) -> Thresholds:
        """Validated thresholds: finite numbers, amber before red in the KRI's direction."""
        try:
            parsed = Direction(direction)
        except ValueError:
            raise DomainError(
                f"direction must be 'higher_is_worse' or 'lower_is_worse', not {direction!r}",
                field="direction",
                code="InvalidDirection",
            ) from None
        for name, value in (("amber", amber), ("red", red)):
            _ensure_finite(value, name)
        if parsed is Direction.HIGHER_IS_WORSE and not amber < red:
            raise DomainError(
                f"when higher is worse the amber threshold ({amber:g}) must be below the red "
                f"one ({red:g})",
                field="amber",
                code="ThresholdsOutOfOrder",
            )
        if parsed is Direction.LOWER_IS_WORSE and not amber > red:
            raise DomainError(
                f"when lower is worse the amber threshold ({amber:g}) must be above the red "
                f"one ({red:g})",
                field="amber",
                code="ThresholdsOutOfOrder",
            )
        return cls(parsed, float(amber), float(red))


def kri_status(value: float, thresholds: Thresholds) -> KriStatus:
    """The status of a value: red at or beyond the red threshold, amber at or beyond amber,
    green otherwise ("beyond" in the KRI's direction)."""
    if thresholds.direction is Direction.HIGHER_IS_WORSE:
        if value >= thresholds.red:
            return KriStatus.RED
        return KriStatus.AMBER if value >= thresholds.amber else KriStatus.GREEN
    if value <= thresholds.red:
        return KriStatus.RED
    return KriStatus.AMBER if value <= thresholds.amber else KriStatus.GREEN


def kri_stream_id(kri_id: str) -> str:
    return f"{STREAM_PREFIX}{kri_id}"


def parse_kri_id(kri_id: str) -> str:
    if not isinstance(kri_id, str) or not KRI_ID.fullmatch(kri_id):
        raise DomainError(
            f"a KRI id is 1 to 64 lower-case letters, digits or '-', starting with a letter or "
            f"digit (e.g. 'open-critical-incidents'), not {kri_id!r}",
            field="kri_id",
            code="InvalidKriId",
        )
    return kri_id


def _require_text(**texts: str) -> None:
    for field, text in texts.items():
        if not text.strip():
            raise DomainError(f"{field} must not be empty", field=field, code="Required")


def _ensure_finite(value: float, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DomainError(f"{field} must be a finite number", field=field, code="NotANumber")


@dataclass(frozen=True)
class Measurement:
    measurement_id: str
    value: float
    measured_at: datetime
    status: KriStatus


@dataclass(frozen=True)
class PendingThresholdChange:
    change_id: str
    thresholds: Thresholds
    requested_by: str
    reason: str


APPROVER_ROLES = frozenset({Role.RISK_OFFICER})


@dataclass(frozen=True)
class KriDefinition:
    """What a KRI is: names, unit, owner and where its values come from."""

    name: str
    description: str
    unit: str
    owner: str
    source: KriSource = KriSource.MEASUREMENT
    stream_rule: str | None = None


class Kri(Aggregate):
    """One key risk indicator (stream ``kri:<kri_id>``): its definition, thresholds, latest
    measurement and current status."""

    stream_type = "kri"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.kri_id = aggregate_id.removeprefix(STREAM_PREFIX)
        self.definition: KriDefinition | None = None
        self.thresholds: Thresholds | None = None
        self.latest: Measurement | None = None
        # When the current value (or its absence) was measured: the order of measurements.
        self.last_measured_at: datetime | None = None
        self.status: KriStatus | None = None
        self.measurements = 0
        self.pending_change: PendingThresholdChange | None = None

    @classmethod
    def define(
        cls, kri_id: str, definition: KriDefinition, thresholds: Thresholds, *, defined_by: str
    ) -> Kri:
        kri = cls(kri_stream_id(parse_kri_id(kri_id)))
        _require_text(name=definition.name, owner=definition.owner)
        if definition.source is KriSource.STREAM and not (definition.stream_rule or "").strip():
            raise DomainError(
                "a stream-fed KRI names its stream rule",
                field="stream_rule",
                code="StreamRuleRequired",
            )
        if definition.source is KriSource.MEASUREMENT and definition.stream_rule:
            raise DomainError(
                "only a stream-fed KRI has a stream rule",
                field="stream_rule",
                code="StreamRuleNotAllowed",
            )
        kri._record(
            KriDefined(
                kri_id=kri.kri_id,
                name=definition.name.strip(),
                description=definition.description,
                unit=definition.unit,
                direction=thresholds.direction.value,
                amber=thresholds.amber,
                red=thresholds.red,
                source=definition.source.value,
                stream_rule=definition.stream_rule,
                owner=definition.owner.strip(),
                defined_by=defined_by,
            )
        )
        return kri

    def change_details(
        self, name: str, description: str, unit: str, owner: str, *, changed_by: str, reason: str
    ) -> None:
        """New name, description, unit or owner; what the KRI measures and where its values
        come from stay (define another KRI for that)."""
        current = self._definition()
        _require_text(name=name, owner=owner, reason=reason)
        if (name.strip(), description, unit, owner.strip()) == (
            current.name,
            current.description,
            current.unit,
            current.owner,
        ):
            raise Conflict("nothing changes", field="name", code="DetailsUnchanged")
        self._record(
            KriDetailsChanged(
                kri_id=self.kri_id,
                name=name.strip(),
                description=description,
                unit=unit,
                owner=owner.strip(),
                changed_by=changed_by,
                reason=reason,
            )
        )

    @property
    def is_stream_fed(self) -> bool:
        return self.definition is not None and self.definition.source is KriSource.STREAM

    def request_threshold_change(
        self, change_id: str, thresholds: Thresholds, *, requested_by: str, reason: str
    ) -> None:
        """Ask for new thresholds; they apply once a second person approves."""
        if self.pending_change is not None:
            raise Conflict(
                f"threshold change {self.pending_change.change_id} of KRI {self.kri_id} awaits a "
                "decision; approve or reject it first",
                field="change_id",
                code="ThresholdChangePending",
            )
        if thresholds == self._thresholds():
            raise Conflict(
                "these are already the KRI's thresholds", field="amber", code="ThresholdsUnchanged"
            )
        if not reason.strip():
            raise DomainError("say why the thresholds change", field="reason", code="Required")
        self._record(
            KriThresholdChangeRequested(
                kri_id=self.kri_id,
                change_id=change_id,
                direction=thresholds.direction.value,
                amber=thresholds.amber,
                red=thresholds.red,
                requested_by=requested_by,
                reason=reason,
            )
        )

    def approve_threshold_change(self, change_id: str, approver: Caller, note: str = "") -> None:
        """Four-eyes: a back-office risk officer other than the requester puts the requested
        thresholds in force; the latest value is judged again under them."""
        pending = self._requested_change(change_id)
        ensure_four_eyes(
            pending.requested_by,
            approver,
            what="KRI threshold change",
            approver_roles=APPROVER_ROLES,
        )
        current = self._thresholds()
        new = pending.thresholds
        self._record(
            KriThresholdsChanged(
                kri_id=self.kri_id,
                change_id=change_id,
                direction=new.direction.value,
                amber=new.amber,
                red=new.red,
                previous_direction=current.direction.value,
                previous_amber=current.amber,
                previous_red=current.red,
                requested_by=pending.requested_by,
                approved_by=approver.subject,
                reason=pending.reason,
                note=note,
            )
        )
        if self.latest is not None:
            self._change_status(
                kri_status(self.latest.value, new), self.latest, "thresholds_changed"
            )

    def reject_threshold_change(self, change_id: str, *, rejected_by: str, reason: str) -> None:
        self._requested_change(change_id)
        self._record(
            KriThresholdChangeRejected(
                kri_id=self.kri_id, change_id=change_id, rejected_by=rejected_by, reason=reason
            )
        )

    def _requested_change(self, change_id: str) -> PendingThresholdChange:
        pending = self.pending_change
        if pending is None or pending.change_id != change_id:
            raise NotFound(
                f"KRI {self.kri_id} has no pending threshold change {change_id}",
                field="change_id",
                code="NoSuchThresholdChange",
            )
        return pending

    def record_measurement(
        self,
        measurement_id: str,
        value: float,
        measured_at: datetime,
        *,
        source: str,
        recorded_by: str,
        now: datetime,
        from_stream: bool = False,
    ) -> KriMeasurementRecorded:
        """Record a measured value; if it is the newest and its status differs from the
        current one, record the status change too (in the same commit)."""
        thresholds = self._thresholds()
        if self.is_stream_fed and not from_stream:
            raise Conflict(
                f"KRI {self.kri_id} is counted by the service from its event stream; "
                "measurements cannot be posted to it",
                field="kri_id",
                code="KriFedByStream",
            )
        _ensure_finite(value, "value")
        if measured_at.tzinfo is None:
            raise DomainError(
                "measured_at needs a time zone (RFC 3339, e.g. 2026-11-26T10:00:00Z)",
                field="measured_at",
                code="TimeZoneRequired",
            )
        if measured_at > now + MAX_CLOCK_SKEW:
            raise DomainError(
                f"measured_at {measured_at.isoformat()} lies in the future",
                field="measured_at",
                code="MeasuredInFuture",
            )
        status = kri_status(value, thresholds)
        current = self.last_measured_at is None or measured_at >= self.last_measured_at
        recorded = KriMeasurementRecorded(
            kri_id=self.kri_id,
            measurement_id=measurement_id,
            value=float(value),
            measured_at=measured_at,
            source=source,
            recorded_by=recorded_by,
            status=status.value,
            current=current,
        )
        self._record(recorded)
        if current:
            self._change_status(
                status,
                Measurement(measurement_id, float(value), measured_at, status),
                "measurement",
            )
        return recorded

    def clear_value(
        self,
        measurement_id: str,
        measured_at: datetime,
        *,
        source: str,
        recorded_by: str,
        reason: str,
    ) -> KriValueCleared | None:
        """A stream-fed KRI found nothing to measure at ``measured_at``: it has no value and
        no status until the next one. Nothing is recorded when it has no value already, or
        when a newer measurement stands (an older "nothing" does not undo it)."""
        if not self.is_stream_fed:
            raise Conflict(
                f"KRI {self.kri_id} takes posted measurements; only a stream-fed KRI loses its "
                "value when its window empties",
                field="kri_id",
                code="KriNotFedByStream",
            )
        if self.latest is None:
            return None
        if self.last_measured_at is not None and measured_at < self.last_measured_at:
            return None
        cleared = KriValueCleared(
            kri_id=self.kri_id,
            measurement_id=measurement_id,
            measured_at=measured_at,
            from_status=self.status.value if self.status else None,
            source=source,
            recorded_by=recorded_by,
            reason=reason,
        )
        self._record(cleared)
        return cleared

    def _change_status(self, status: KriStatus, measurement: Measurement, cause: str) -> None:
        if status is self.status:
            return
        self._record(
            KriStatusChanged(
                kri_id=self.kri_id,
                from_status=self.status.value if self.status else None,
                to_status=status.value,
                value=measurement.value,
                measurement_id=measurement.measurement_id,
                measured_at=measurement.measured_at,
                cause=cause,
            )
        )

    @property
    def current_thresholds(self) -> Thresholds:
        return self._thresholds()

    def _definition(self) -> KriDefinition:
        if self.definition is None:
            raise DomainError(f"KRI {self.kri_id} is not defined", field="kri_id")
        return self.definition

    def _thresholds(self) -> Thresholds:
        if self.thresholds is None:
            raise DomainError(f"KRI {self.kri_id} is not defined", field="kri_id")
        return self.thresholds

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case KriDefined():
                self.definition = KriDefinition(
                    name=event.name,
                    description=event.description,
                    unit=event.unit,
                    owner=event.owner,
                    source=KriSource(event.source),
                    stream_rule=event.stream_rule,
                )
                self.thresholds = Thresholds(Direction(event.direction), event.amber, event.red)
            case KriDetailsChanged():
                self.definition = replace(
                    self._definition(),
                    name=event.name,
                    description=event.description,
                    unit=event.unit,
                    owner=event.owner,
                )
            case KriThresholdChangeRequested():
                self.pending_change = PendingThresholdChange(
                    event.change_id,
                    Thresholds(Direction(event.direction), event.amber, event.red),
                    event.requested_by,
                    event.reason,
                )
            case KriThresholdsChanged():
                self.thresholds = Thresholds(Direction(event.direction), event.amber, event.red)
                self.pending_change = None
            case KriThresholdChangeRejected():
                self.pending_change = None
            case KriMeasurementRecorded():
                self.measurements += 1
                if event.current:
                    self.latest = Measurement(
                        event.measurement_id,
                        event.value,
                        event.measured_at,
                        KriStatus(event.status),
                    )
                    self.last_measured_at = event.measured_at
            case KriValueCleared():
                self.measurements += 1
                self.latest = None
                self.status = None
                self.last_measured_at = event.measured_at
            case KriStatusChanged():
                self.status = KriStatus(event.to_status)
            case _:
                raise TypeError(f"Kri cannot apply {type(event).__name__}")

"""KRI command handlers: define a KRI, change its thresholds, record a measurement, measure a
rolling-window KRI again when its window moves on (the daily window roll).

Each handler loads the KRI, calls the domain and commits in one unit of work, so a measurement
and the status change it causes are stored together (or not at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.errors import Conflict, DomainError, NotFound
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, approver_of

from risk.app.kri_stream import KRI_LOCK, StreamKriSpec, define_stream_kri
from risk.app.kri_windows import WindowDays
from risk.domain.kri import (
    Kri,
    KriDefinition,
    KriSource,
    Thresholds,
    kri_stream_id,
    parse_kri_id,
)
from risk.domain.kri_tickets import OPEN_CRITICAL_INCIDENTS, OPEN_CRITICAL_INCIDENTS_RULE
from risk.domain.kri_windows import (
    WINDOW_RULES,
    measure_window,
    roll_due,
    roll_measurement_id,
    window_days,
)

# Which KRI each stream rule feeds.
STREAM_RULES = {
    OPEN_CRITICAL_INCIDENTS_RULE: OPEN_CRITICAL_INCIDENTS,
    **{rule.stream_rule: rule.kri_id for rule in WINDOW_RULES},
}
WINDOW_RULES_BY_KRI = {rule.kri_id: rule for rule in WINDOW_RULES}
WINDOW_ROLL_SOURCE = "window-roll"


@dataclass(frozen=True)
class DefineKri:
    kri_id: str
    definition: KriDefinition
    direction: str
    amber: float
    red: float


@dataclass(frozen=True)
class ChangeKriDetails:
    kri_id: str
    name: str
    description: str
    unit: str
    owner: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RequestKriThresholdChange:
    kri_id: str
    change_id: str
    direction: str | None
    amber: float
    red: float
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class DecideKriThresholdChange:
    kri_id: str
    change_id: str
    text: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordKriMeasurement:
    kri_id: str
    measurement_id: str
    value: float
    measured_at: datetime | None
    source: str | None
    expected_version: int | None = None


@dataclass(frozen=True)
class RollKriWindow:
    """Measure a rolling-window KRI again at ``at`` (a day's 00:00 UTC)."""

    kri_id: str
    at: datetime


@dataclass
class KriCommands:
    """The KRI handlers with their clock."""

    clock: Clock = utc_now

    async def define_kri(self, command: DefineKri, uow: UnitOfWork) -> CommandResult:
        kri_id = parse_kri_id(command.kri_id)
        thresholds = Thresholds.of(command.direction, command.amber, command.red)
        _check_stream_rule(kri_id, command.definition)
        async with uow:
            if await uow.find(Kri, kri_stream_id(kri_id)) is not None:
                raise Conflict(
                    f"a KRI with id {kri_id!r} is already defined",
                    field="kri_id",
                    code="KriAlreadyDefined",
                )
            kri = Kri.define(
                kri_id, command.definition, thresholds, defined_by=uow.context.actor.subject
            )
            uow.add(kri)
            return await uow.commit(kri)

    async def define_stream_kri(self, spec: StreamKriSpec, uow: UnitOfWork) -> CommandResult:
        """Define the stream-fed KRI (at start-up); a conflict when it exists already."""
        async with uow:
            if await uow.find(Kri, kri_stream_id(spec.kri_id)) is not None:
                raise Conflict("already defined", code="KriAlreadyDefined")
            kri = define_stream_kri(spec, uow.context.actor.subject)
            uow.add(kri)
            return await uow.commit(kri)

    async def change_details(self, command: ChangeKriDetails, uow: UnitOfWork) -> CommandResult:
        async with uow:
            kri = await _get(uow, command.kri_id)
            check_version(kri.version, command.expected_version, f"KRI {kri.kri_id}")
            kri.change_details(
                command.name,
                command.description,
                command.unit,
                command.owner,
                changed_by=uow.context.actor.subject,
                reason=command.reason,
            )
            return await uow.commit(kri)

    async def request_threshold_change(
        self, command: RequestKriThresholdChange, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            kri = await _get(uow, command.kri_id)
            check_version(kri.version, command.expected_version, f"KRI {kri.kri_id}")
            direction = command.direction or kri.current_thresholds.direction.value
            kri.request_threshold_change(
                command.change_id,
                Thresholds.of(direction, command.amber, command.red),
                requested_by=uow.context.actor.subject,
                reason=command.reason,
            )
            return await uow.commit(kri)

    async def approve_threshold_change(
        self, command: DecideKriThresholdChange, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            kri = await _get(uow, command.kri_id)
            check_version(kri.version, command.expected_version, f"KRI {kri.kri_id}")
            kri.approve_threshold_change(command.change_id, approver_of(uow.context), command.text)
            return await uow.commit(kri)

    async def reject_threshold_change(
        self, command: DecideKriThresholdChange, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            kri = await _get(uow, command.kri_id)
            check_version(kri.version, command.expected_version, f"KRI {kri.kri_id}")
            kri.reject_threshold_change(
                command.change_id, rejected_by=uow.context.actor.subject, reason=command.text
            )
            return await uow.commit(kri)

    async def record_measurement(
        self, command: RecordKriMeasurement, uow: UnitOfWork
    ) -> CommandResult:
        now = self.clock()
        async with uow:
            kri = await _get(uow, command.kri_id)
            check_version(kri.version, command.expected_version, f"KRI {kri.kri_id}")
            kri.record_measurement(
                command.measurement_id,
                command.value,
                command.measured_at or now,
                source=command.source or uow.context.actor.subject,
                recorded_by=uow.context.actor.subject,
                now=now,
            )
            return await uow.commit(kri)

    async def roll_window(self, command: RollKriWindow, uow: UnitOfWork) -> CommandResult:
        """The window roll: measure the window KRI again at ``at`` (its reading's id is fixed
        by KRI and instant). A conflict when it is not due: measured at or after ``at``
        already (by an inbox batch or another roll), or without a value."""
        rule = WINDOW_RULES_BY_KRI.get(command.kri_id)
        if rule is None:
            raise NotFound(f"{command.kri_id} is not a rolling-window KRI", field="kri_id")
        async with uow:
            kri = await _get(uow, command.kri_id)
            if not roll_due(kri, command.at):
                raise Conflict(
                    f"KRI {kri.kri_id} needs no window roll at {command.at.isoformat()}",
                    field="kri_id",
                    code="WindowRollNotDue",
                )
            measure_window(
                kri,
                rule,
                await WindowDays(uow, rule.kri_id).totals(window_days(command.at)),
                roll_measurement_id(rule.kri_id, command.at),
                command.at,
                source=WINDOW_ROLL_SOURCE,
                recorded_by=uow.context.actor.subject,
            )
            return await uow.commit(kri)


def _check_stream_rule(kri_id: str, definition: KriDefinition) -> None:
    """A stream rule feeds one KRI (its counting inbox knows which): a stream-fed KRI may be
    defined ahead of the service's own start-up definition (to set other thresholds), under
    that id only."""
    if definition.source is not KriSource.STREAM:
        return
    fed = STREAM_RULES.get(definition.stream_rule or "")
    if fed is None:
        raise DomainError(
            f"unknown stream rule {definition.stream_rule!r}; known: {', '.join(STREAM_RULES)}",
            field="stream_rule",
            code="UnknownStreamRule",
        )
    if fed != kri_id:
        raise DomainError(
            f"the stream rule {definition.stream_rule} feeds the KRI {fed!r}, not {kri_id!r}",
            field="kri_id",
            code="StreamRuleFeedsAnotherKri",
        )


async def _get(uow: UnitOfWork, kri_id: str) -> Kri:
    """Load the KRI for a change, queueing behind other changes of it (``KRI_LOCK``)."""
    stream_id = kri_stream_id(parse_kri_id(kri_id))
    await uow.lock(KRI_LOCK, stream_id)
    kri = await uow.find(Kri, stream_id)
    if kri is None:
        raise NotFound(f"KRI {kri_id} does not exist", field="kri_id")
    return kri

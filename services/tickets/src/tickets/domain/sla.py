"""SLA policies and clocks: time to first response and to resolution, in business time.

A ``SlaPolicy`` gives each priority (1 = critical ... 4 = low) a ``SlaTarget`` and names the
``BusinessCalendar`` the targets are counted in. A ``SlaClock`` is one running clock (first
response, or resolution) folded from a ticket's events: started, paused while the ticket waits
for the requester, resumed, stopped. All of it is pure: the same events and calendar give the
same due instants, so a rebuilt read model reproduces every deadline.

JSON form of a policy (``to_dict``/``from_dict``)::

    {"name": "default", "calendar": {...BusinessCalendar.to_dict()...}, "warning_ratio": 0.75,
     "targets": {"1": {"first_response_seconds": 3600, "resolution_seconds": 14400}, ...}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeGuard

from shared_kernel.errors import DomainError

from tickets.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar

PRIORITIES = (1, 2, 3, 4)
"""1 = critical, 2 = high, 3 = medium, 4 = low."""
DEFAULT_WARNING_RATIO = 0.75
_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class SlaTarget:
    """Business time allowed until the first response and until the resolution."""

    first_response: timedelta
    resolution: timedelta

    def __post_init__(self) -> None:
        for name in ("first_response", "resolution"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= _ZERO or value % _SECOND:
                raise DomainError(
                    f"The {name.replace('_', ' ')} target must be a positive whole number "
                    "of seconds.",
                    field=name,
                    code="InvalidSlaTarget",
                )
        if self.resolution < self.first_response:
            raise DomainError(
                "The resolution target cannot be shorter than the first-response target.",
                field="resolution",
                code="InvalidSlaTarget",
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "first_response_seconds": self.first_response // _SECOND,
            "resolution_seconds": self.resolution // _SECOND,
        }

    @classmethod
    def from_dict(cls, data: object, *, field: str = "targets") -> SlaTarget:
        if isinstance(data, Mapping):
            first, resolution = data.get("first_response_seconds"), data.get("resolution_seconds")
            if _is_int(first) and _is_int(resolution):
                return cls(timedelta(seconds=first), timedelta(seconds=resolution))
        raise DomainError(
            "A target needs first_response_seconds and resolution_seconds as integers.",
            field=field,
            code="InvalidSlaTarget",
        )


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority, the calendar they count in, and when to warn (share of target)."""

    name: str
    calendar: BusinessCalendar
    targets: Mapping[int, SlaTarget] = field(hash=False)
    warning_ratio: float = DEFAULT_WARNING_RATIO

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DomainError("An SLA policy needs a name.", field="name", code="InvalidSlaPolicy")
        if not isinstance(self.calendar, BusinessCalendar):
            raise DomainError(
                "An SLA policy needs a business calendar.",
                field="calendar",
                code="InvalidSlaPolicy",
            )
        if not isinstance(self.targets, Mapping) or set(self.targets) != set(PRIORITIES):
            raise DomainError(
                "An SLA policy needs a target for each priority 1, 2, 3 and 4.",
                field="targets",
                code="InvalidSlaPolicy",
            )
        if not all(isinstance(target, SlaTarget) for target in self.targets.values()):
            raise DomainError(
                "Each SLA target must be an SlaTarget.", field="targets", code="InvalidSlaPolicy"
            )
        # A read-only copy: the policy is a value, nobody may change it afterwards.
        frozen = MappingProxyType({p: self.targets[p] for p in PRIORITIES})
        object.__setattr__(self, "targets", frozen)
        ratio = self.warning_ratio
        if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not 0 < ratio < 1:
            raise DomainError(
                "The warning ratio must lie strictly between 0 and 1, e.g. 0.75.",
                field="warning_ratio",
                code="InvalidSlaPolicy",
            )
        object.__setattr__(self, "warning_ratio", float(ratio))

    def target(self, priority: int) -> SlaTarget:
        """The target for a priority (1 = critical ... 4 = low)."""
        try:
            return self.targets[priority]
        except (KeyError, TypeError):
            raise DomainError(
                f"Priority must be 1, 2, 3 or 4, not {priority!r}.",
                field="priority",
                code="InvalidPriority",
            ) from None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "calendar": self.calendar.to_dict(),
            "targets": {str(p): self.targets[p].to_dict() for p in PRIORITIES},
            "warning_ratio": self.warning_ratio,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SlaPolicy:
        """The inverse of ``to_dict``; bad input raises DomainError naming the field.

        Policies are immutable, so equal input gives the same (memoised) instance: folding
        100,000 tickets whose events carry the same policy parses it once.
        """
        key = _cache_key(cls, data)
        cached = _PARSED.get(key) if key is not None else None
        if cached is not None:
            return cached
        policy = cls._parse(data)
        if key is not None:
            if len(_PARSED) >= _MAX_PARSED:
                _PARSED.clear()
            _PARSED[key] = policy
        return policy

    @classmethod
    def _parse(cls, data: Mapping[str, object]) -> SlaPolicy:
        if not isinstance(data, Mapping):
            raise DomainError("An SLA policy must be an object.", field="sla_policy")
        calendar = data.get("calendar")
        if not isinstance(calendar, Mapping):
            raise DomainError(
                "An SLA policy needs a calendar object.", field="calendar", code="InvalidSlaPolicy"
            )
        raw_targets = data.get("targets")
        if not isinstance(raw_targets, Mapping):
            raise DomainError(
                "targets must map each priority 1..4 to its target.",
                field="targets",
                code="InvalidSlaPolicy",
            )
        targets: dict[int, SlaTarget] = {}
        for key, value in raw_targets.items():
            priority = _priority_key(key)
            targets[priority] = SlaTarget.from_dict(value, field=f"targets.{priority}")
        try:
            business_calendar = BusinessCalendar.from_dict(calendar)
        except DomainError as error:
            raise DomainError(
                error.detail, field=f"calendar.{error.field}", code=error.code
            ) from error
        ratio = data.get("warning_ratio", DEFAULT_WARNING_RATIO)
        name = data.get("name")
        return cls(
            name=name if isinstance(name, str) else "",
            calendar=business_calendar,
            targets=targets,
            warning_ratio=ratio if isinstance(ratio, float | int) else -1.0,
        )


_PARSED: dict[str, SlaPolicy] = {}
_MAX_PARSED = 256


def _cache_key(cls: type, data: object) -> str | None:
    """The policy's JSON text (it tells ``1``, ``1.0`` and ``true`` apart); None if not JSON."""
    try:
        return f"{cls.__qualname__}:{json.dumps(data, sort_keys=True, allow_nan=False)}"
    except (TypeError, ValueError):
        return None


def _hours(first_response: int, resolution: int) -> SlaTarget:
    return SlaTarget(timedelta(hours=first_response), timedelta(hours=resolution))


DEFAULT_SLA_POLICY = SlaPolicy(
    name="default",
    calendar=DEFAULT_CALENDAR,
    targets={1: _hours(1, 4), 2: _hours(4, 8), 3: _hours(8, 24), 4: _hours(16, 40)},
)
"""P1 1 h / 4 h, P2 4 h / 8 h, P3 8 h / 24 h, P4 16 h / 40 h, business hours (DEFAULT_CALENDAR)."""


@dataclass(frozen=True)
class SlaClock:
    """One SLA clock (first response, or resolution) as a pure value folded from a ticket's events.

    ``pauses`` holds ``(paused_at, resumed_at)`` pairs, the last one possibly still open
    (``resumed_at`` None). Instants earlier than the clock's latest change are taken as that
    change (writers' clocks may disagree by a little), so folding events never fails.
    """

    started_at: datetime
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()
    stopped_at: datetime | None = None

    def __post_init__(self) -> None:
        # Instants are kept in UTC: aware datetimes sharing a zone compare by wall time, which
        # is wrong in the repeated hour of a fall-back night.
        object.__setattr__(self, "started_at", _utc(self.started_at, "started_at"))
        stopped_at = None if self.stopped_at is None else _utc(self.stopped_at, "stopped_at")
        object.__setattr__(self, "stopped_at", stopped_at)
        pauses = tuple(
            (_utc(paused_at, "pauses"), None if resumed_at is None else _utc(resumed_at, "pauses"))
            for paused_at, resumed_at in self.pauses
        )
        if any(resumed_at is None for _, resumed_at in pauses[:-1]):
            raise DomainError(
                "Only the last pause of a clock may be still open.",
                field="pauses",
                code="InvalidSlaClock",
            )
        if stopped_at is not None and pauses and pauses[-1][1] is None:
            pauses = (*pauses[:-1], (pauses[-1][0], stopped_at))  # a stop ends the pause
        object.__setattr__(self, "pauses", pauses)

    @property
    def paused(self) -> bool:
        return self.stopped_at is None and bool(self.pauses) and self.pauses[-1][1] is None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def pause(self, at: datetime) -> SlaClock:
        """Pause (the ticket waits for the requester); no-op if already paused or stopped."""
        if self.paused or self.stopped:
            return self
        return SlaClock(self.started_at, (*self.pauses, (self._not_before(at), None)))

    def resume(self, at: datetime) -> SlaClock:
        """Resume a paused clock; no-op if it is not paused."""
        if not self.paused:
            return self
        paused_at = self.pauses[-1][0]
        return SlaClock(self.started_at, (*self.pauses[:-1], (paused_at, self._not_before(at))))

    def stop(self, at: datetime) -> SlaClock:
        """Stop for good (responded / resolved); closes an open pause at ``at`` too."""
        if self.stopped:
            return self
        at = self._not_before(at)
        pauses = self.pauses
        if self.paused:
            pauses = (*pauses[:-1], (pauses[-1][0], at))
        return SlaClock(self.started_at, pauses, at)

    def elapsed(self, calendar: BusinessCalendar, at: datetime) -> timedelta:
        """Business time the clock has run up to ``min(at, stopped_at)``, excluding pauses."""
        at = _utc(at, "at")
        end = at if self.stopped_at is None else min(at, self.stopped_at)
        closed, running_since = self._runs()
        total = sum((calendar.between(begin, min(finish, end)) for begin, finish in closed), _ZERO)
        if running_since is not None:
            total += calendar.between(running_since, end)
        return total

    def due_at(
        self, calendar: BusinessCalendar, target: timedelta, ratio: float = 1.0
    ) -> datetime | None:
        """The instant at which ``elapsed`` reaches ``target * ratio``, assuming no further pause.

        None while paused. For a stopped clock, the instant it would have been reached had it
        kept running from its last resume (a pause closed by the stop counts as resumed then).
        A clock stopped by then has met its target; ``met`` gives the verdict for any stop (a
        stop after the due instant still meets the target if no business time ran since, e.g.
        due at closing time and stopped in the evening).
        """
        if not isinstance(target, timedelta) or target < _ZERO:
            raise DomainError(
                "The target must be zero or positive.", field="target", code="InvalidSlaTarget"
            )
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio <= 0:
            raise DomainError("The ratio must be positive.", field="ratio", code="InvalidRatio")
        closed, running_since = self._runs()
        if running_since is None:  # paused: no deadline until it resumes
            return None
        remaining = target * ratio
        for begin, finish in closed:
            run = calendar.between(begin, finish)
            if remaining <= run:
                return calendar.add(begin, remaining)
            remaining -= run
        return calendar.add(running_since, remaining)

    def met(self, calendar: BusinessCalendar, target: timedelta) -> bool | None:
        """None while running or paused; once stopped, whether it stopped within the target."""
        if self.stopped_at is None:
            return None
        return self.elapsed(calendar, self.stopped_at) <= target

    def _runs(self) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
        """The closed intervals the clock ran, and since when it runs on (None while paused).

        A stop does not close the last run here: callers clip at ``stopped_at`` themselves.
        """
        closed: list[tuple[datetime, datetime]] = []
        running_since: datetime | None = self.started_at
        for paused_at, resumed_at in self.pauses:
            if running_since is not None:
                closed.append((running_since, paused_at))
            running_since = resumed_at
        return closed, running_since

    def _not_before(self, at: datetime) -> datetime:
        at = _utc(at, "at")
        latest = self.started_at
        for paused_at, resumed_at in self.pauses:
            latest = max(latest, paused_at, resumed_at or paused_at)
        return max(at, latest)


def _utc(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise DomainError(
            f"{name} must be an aware datetime (with a time zone).",
            field=name,
            code="NaiveDatetime",
        )
    return value.astimezone(UTC)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _priority_key(key: object) -> int:
    if isinstance(key, str) and key in {str(p) for p in PRIORITIES}:
        return int(key)
    if isinstance(key, int) and not isinstance(key, bool) and key in PRIORITIES:
        return key
    raise DomainError(
        f"Targets are keyed by priority 1, 2, 3 or 4, not {key!r}.",
        field="targets",
        code="InvalidSlaPolicy",
    )

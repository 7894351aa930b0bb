"""Business calendars: which instants count as business time, and the arithmetic on them.

A calendar opens on its working days (0 = Monday ... 6 = Sunday) that are not holidays, from
``opens`` to ``closes`` local wall-clock time in its IANA time zone. Everything else is closed.

The rule across daylight-saving switches (tested in ``test_tickets_calendar.py``):

* The bounds of a business day are local wall-clock times; business time is the *real elapsed
  time* between them. On a switch day an 08:00-18:00 day is still 10 hours (the switch happens
  at night), while a 00:00-06:00 day in Europe/Berlin has 5 real hours on the spring-forward day
  (02:00-03:00 does not exist) and 7 real hours on the fall-back day (02:00-03:00 happens twice).
* Each bound is the *first instant at which the local clock shows that time or later*: an
  ambiguous wall time (fall-back) is its first occurrence; a wall time that does not exist
  (spring-forward gap) is the instant of the switch, i.e. the clock's 03:00. A day whose bounds
  both fall into the gap has no business time.

Because business time is real time inside those intervals, ``add`` and ``between`` are exact
inverses (``between(s, add(s, d)) == d``), to the microsecond, and pure: no clock, no I/O. The
results are aware datetimes in UTC. ``add`` steps over whole business days, so a multi-week
duration costs a few dozen dictionary look-ups, not a loop over minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared_kernel.errors import DomainError

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_Window: TypeAlias = tuple[datetime, datetime] | None
_WINDOWS: dict[tuple[object, ...], dict[date, _Window]] = {}
_MAX_CACHED_DAYS = 50_000  # per set of rules; about 137 years of dates


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days, opening hours, holidays and a time zone (see the module docstring)."""

    name: str
    time_zone: str
    working_days: frozenset[int]
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Business window (UTC) per local date: a pure memo, filled on demand and shared by all
    # calendars with the same rules (policies are rebuilt from events ticket by ticket).
    _windows: dict[date, _Window] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DomainError("A calendar needs a name.", field="name", code="InvalidCalendar")
        object.__setattr__(self, "_zone", _load_zone(self.time_zone))
        object.__setattr__(self, "working_days", _working_days(self.working_days))
        for name in ("opens", "closes"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise DomainError(
                    f"{name} must be a local wall-clock time without a time zone, e.g. 08:00.",
                    field=name,
                    code="InvalidCalendar",
                )
        if self.closes <= self.opens:
            raise DomainError(
                f"The calendar closes ({self.closes:%H:%M}) before or when it opens "
                f"({self.opens:%H:%M}); closes must be later on the same day.",
                field="closes",
                code="InvalidCalendar",
            )
        object.__setattr__(self, "holidays", _holidays(self.holidays))
        rules = (self.time_zone, self.working_days, self.opens, self.closes, self.holidays)
        object.__setattr__(self, "_windows", _WINDOWS.setdefault(rules, {}))

    # -- arithmetic -----------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time has passed after ``start``.

        A zero duration gives ``start`` itself when it lies in business hours, else the next
        opening. The result is an aware datetime in UTC.
        """
        now = _utc(start, "start")
        if not isinstance(duration, timedelta) or duration < _ZERO:
            raise DomainError(
                "The duration must be zero or positive.", field="duration", code="InvalidDuration"
            )
        remaining = duration
        # One day back: a window belongs to its local date, and starting early is harmless.
        day = now.astimezone(self._zone).date() - _ONE_DAY
        while True:
            window = self._window(day)
            if window is not None and now < window[1]:
                begin = max(now, window[0])
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                now = window[1]
            day += _ONE_DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside ``[start, end)``; zero when ``end <= start``."""
        begin, finish = _utc(start, "start"), _utc(end, "end")
        if finish <= begin:
            return _ZERO
        total = _ZERO
        day = begin.astimezone(self._zone).date() - _ONE_DAY
        last = finish.astimezone(self._zone).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                overlap = min(finish, window[1]) - max(begin, window[0])
                if overlap > _ZERO:
                    total += overlap
            day += _ONE_DAY
        return total

    def is_business_day(self, day: date) -> bool:
        """A working day that is not a holiday (it may still be empty on a switch day)."""
        return day.weekday() in self.working_days and day not in self.holidays

    def business_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants the calendar opens and closes on a local date; None if closed."""
        return self._window(day)

    def _window(self, day: date) -> _Window:
        try:
            return self._windows[day]
        except KeyError:
            pass
        if len(self._windows) >= _MAX_CACHED_DAYS:
            self._windows.clear()
        window: _Window = None
        if self.is_business_day(day):
            opening = _first_instant(day, self.opens, self._zone)
            closing = _first_instant(day, self.closes, self._zone)
            if closing > opening:
                window = (opening, closing)
        self._windows[day] = window
        return window

    # -- serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form: times ``"HH:MM"`` (``"HH:MM:SS"`` if needed), ISO dates, ints."""
        return {
            "name": self.name,
            "time_zone": self.time_zone,
            "working_days": sorted(self.working_days),
            "opens": _format_time(self.opens),
            "closes": _format_time(self.closes),
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BusinessCalendar:
        """The inverse of ``to_dict``; bad input raises DomainError naming the field."""
        if not isinstance(data, Mapping):
            raise DomainError("A calendar must be an object.", field="calendar")
        name = data.get("name")
        time_zone = data.get("time_zone")
        if not isinstance(time_zone, str):
            raise DomainError(
                "time_zone must be an IANA name such as Europe/Berlin.",
                field="time_zone",
                code="InvalidCalendar",
            )
        holidays = data.get("holidays", [])
        if not isinstance(holidays, list | tuple):
            raise DomainError(
                "holidays must be a list of ISO dates.", field="holidays", code="InvalidCalendar"
            )
        return cls(
            name=name if isinstance(name, str) else "",
            time_zone=time_zone,
            working_days=_working_days(data.get("working_days")),
            opens=_parse_time(data.get("opens"), "opens"),
            closes=_parse_time(data.get("closes"), "closes"),
            holidays=frozenset(_parse_date(value) for value in holidays),
        )


def _first_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock on ``day`` shows ``wall`` or later."""
    local = datetime.combine(day, wall, tzinfo=zone)  # fold=0: first occurrence if ambiguous
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # ``wall`` falls into a gap: with fold=0 the offset before the switch applies, so
    # ``instant`` lies after the switch, and ``local`` read with the later offset lies before
    # it. The switch is the first whole second between the two with the later offset.
    after = instant.astimezone(zone).utcoffset()
    low = local.replace(fold=1).astimezone(UTC)  # before the switch
    high = instant
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low) // timedelta(seconds=2))
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise DomainError(
            f"{name} must be an aware datetime (with a time zone).",
            field=name,
            code="NaiveDatetime",
        )
    return value.astimezone(UTC)


def _load_zone(name: object) -> ZoneInfo:
    if isinstance(name, str) and name.strip():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise DomainError(
        f"Unknown time zone {name!r}; use an IANA name such as Europe/Berlin.",
        field="time_zone",
        code="UnknownTimeZone",
    )


def _working_days(days: object) -> frozenset[int]:
    if isinstance(days, Iterable) and not isinstance(days, str | bytes | Mapping):
        values = list(days)
        if not values:
            raise DomainError(
                "A calendar needs at least one working day.",
                field="working_days",
                code="InvalidCalendar",
            )
        if all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 6 for v in values):
            return frozenset(values)
    raise DomainError(
        f"Working days must be day numbers 0 (Monday) to 6 (Sunday), not {days!r}.",
        field="working_days",
        code="InvalidCalendar",
    )


def _holidays(days: object) -> frozenset[date]:
    if isinstance(days, Iterable) and not isinstance(days, str | bytes | Mapping):
        values = list(days)
        if all(isinstance(v, date) and not isinstance(v, datetime) for v in values):
            return frozenset(values)
    raise DomainError("Holidays must be calendar dates.", field="holidays", code="InvalidCalendar")


def _format_time(value: time) -> str:
    timespec = "minutes" if value.second == 0 and value.microsecond == 0 else "auto"
    return value.isoformat(timespec=timespec)


def _parse_time(value: object, name: str) -> time:
    if isinstance(value, str):
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                return parsed
    raise DomainError(
        f"{name} must be a local time as HH:MM, not {value!r}.", field=name, code="InvalidCalendar"
    )


def _parse_date(value: object) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DomainError(
        f"Holidays must be ISO dates (YYYY-MM-DD), not {value!r}.",
        field="holidays",
        code="InvalidCalendar",
    )


DEFAULT_CALENDAR = BusinessCalendar(
    name="default",
    time_zone="Europe/Berlin",
    working_days=frozenset(range(5)),
    opens=time(8),
    closes=time(18),
)
"""Monday to Friday, 08:00-18:00 Berlin time, no holidays."""

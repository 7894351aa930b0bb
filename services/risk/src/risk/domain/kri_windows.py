"""Rolling-window KRIs fed by the tickets service: "SLA breaches in the last 30 days" (a
count, higher is worse) and "customer satisfaction over the last 30 days" (the average
rating 1..5, lower is worse).

Granularity: the UTC day. The window of a measurement at time ``now`` is the 30 UTC days
ending with ``now``'s day (that day and the 29 before). Each entry (a breach, a rating) is kept
in a small day stream of the risk service (``kri-window:<kri_id>:<day>``), so a value is a
function of the window's days alone and can be measured again at any time:

- on each source event, at ``now`` = that event's time (or the KRI's latest measurement, if
  later: partitions arrive interleaved), with the source event's id as measurement id;
- by the window roll, once a day at 00:00 UTC, when the oldest day has left the window: the
  value falls although no event came. The reading of day D has a fixed id (uuid5 of KRI and
  instant), and the roll is due only while the KRI's latest measurement is older than D's
  00:00, so it is recorded once, whoever runs it and however often.

A day is the natural grain of a 30-day indicator (nobody acts on the hour a breach turns 30
days old), it keeps the roll to one reading per KRI and day, and a day stream stays small.
A count over an empty window is 0 (green); an average over an empty window has no value, so
the KRI's value is cleared (unmeasured, never red).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.kri import Kri
from risk.domain.kri_events import KriWindowEntryRecorded
from risk.domain.tickets_events import SlaBreached, TicketRated

WINDOW_DAYS = 30
STREAM_PREFIX = "kri-window:"
_ROLL_IDS = uuid5(NAMESPACE_URL, "urn:backoffice:risk:kri-window-roll")


class WindowMeasure(StrEnum):
    COUNT = "count"  # how many entries; 0 for none
    AVERAGE = "average"  # the mean of the entries' values; no value for none


@dataclass(frozen=True)
class WindowRule:
    """Which KRI a tickets event type feeds, and how the window's entries become its value."""

    kri_id: str
    stream_rule: str
    measure: WindowMeasure
    source_type: type[DomainEvent]
    what: str  # the entries, in words ("SLA breaches")


SLA_BREACHES = WindowRule(
    "sla-breaches-30d", "tickets.sla-breaches-30d", WindowMeasure.COUNT, SlaBreached, "SLA breaches"
)
CUSTOMER_SATISFACTION = WindowRule(
    "customer-satisfaction-30d",
    "tickets.customer-satisfaction-30d",
    WindowMeasure.AVERAGE,
    TicketRated,
    "ratings",
)
WINDOW_RULES: tuple[WindowRule, ...] = (SLA_BREACHES, CUSTOMER_SATISFACTION)


@dataclass(frozen=True)
class WindowEntry:
    value: float
    at: datetime


def entry_of(event: DomainEvent) -> WindowEntry:
    """What a source event adds to its window: 1 per SLA breach, the rating per rating."""
    match event:
        case SlaBreached():
            return WindowEntry(1.0, event.at)
        case TicketRated():
            return WindowEntry(float(event.rating), event.at)
    raise TypeError(f"no window KRI reads {type(event).__name__}")


@dataclass(frozen=True)
class DayTotals:
    count: int = 0
    total: float = 0.0


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def start_of_day(at: datetime) -> datetime:
    """00:00 UTC of ``at``'s day: when the window last moved on."""
    day = day_of(at)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def window_days(now: datetime) -> list[date]:
    """The UTC days of the window at ``now``: its day and the 29 before, newest first."""
    end = day_of(now)
    return [end - timedelta(days=n) for n in range(WINDOW_DAYS)]


def in_window(at: datetime, now: datetime) -> bool:
    return 0 <= (day_of(now) - day_of(at)).days < WINDOW_DAYS


def window_value(measure: WindowMeasure, days: Iterable[DayTotals]) -> float | None:
    """The KRI's value over the window's days; None when an average has nothing to average."""
    totals = list(days)
    count = sum(t.count for t in totals)
    if measure is WindowMeasure.COUNT:
        return float(count)
    if count == 0:
        return None
    return sum(t.total for t in totals) / count


def window_day_stream_id(kri_id: str, day: date) -> str:
    return f"{STREAM_PREFIX}{kri_id}:{day.isoformat()}"


class KriWindowDay(Aggregate):
    """The entries of one rolling-window KRI on one UTC day."""

    stream_type = "kri_window_day"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        kri_id, day = aggregate_id.removeprefix(STREAM_PREFIX).rsplit(":", 1)
        self.kri_id = kri_id
        self.day = date.fromisoformat(day)
        self.totals = DayTotals()
        self._entry_ids: set[str] = set()

    @classmethod
    def of(cls, kri_id: str, day: date) -> KriWindowDay:
        return cls(window_day_stream_id(kri_id, day))

    def record(self, entry_id: str, entry: WindowEntry, *, source_event_type: str) -> bool:
        """Keep an entry of this day; False (nothing recorded) when it is kept already."""
        if day_of(entry.at) != self.day:
            raise ValueError(f"an entry at {entry.at.isoformat()} is not of {self.day}")
        if entry_id in self._entry_ids:
            return False
        self._record(
            KriWindowEntryRecorded(
                kri_id=self.kri_id,
                day=self.day,
                entry_id=entry_id,
                value=entry.value,
                at=entry.at,
                source_event_type=source_event_type,
            )
        )
        return True

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case KriWindowEntryRecorded():
                self.totals = DayTotals(self.totals.count + 1, self.totals.total + event.value)
                self._entry_ids.add(event.entry_id)
            case _:
                raise TypeError(f"KriWindowDay cannot apply {type(event).__name__}")


def measure_window(
    kri: Kri,
    rule: WindowRule,
    days: Iterable[DayTotals],
    measurement_id: str,
    now: datetime,
    *,
    source: str,
    recorded_by: str,
) -> None:
    """Record the KRI's value over the window at ``now`` (its status change with it), or
    clear its value when an average has nothing left to average."""
    value = window_value(rule.measure, days)
    if value is None:
        kri.clear_value(
            measurement_id,
            now,
            source=source,
            recorded_by=recorded_by,
            reason=f"no {rule.what} in the last {WINDOW_DAYS} days",
        )
        return
    kri.record_measurement(
        measurement_id,
        value,
        now,
        source=source,
        recorded_by=recorded_by,
        now=now,
        from_stream=True,
    )


def roll_due(kri: Kri, at: datetime) -> bool:
    """The window roll of ``at`` (a day's 00:00 UTC) is due: the KRI has a value, measured
    before ``at`` (without a value nothing can leave the window)."""
    return kri.latest is not None and (kri.last_measured_at or at) < at


def roll_measurement_id(kri_id: str, at: datetime) -> str:
    """The id of the window roll's reading at ``at``: the same in every process and retry."""
    return str(uuid5(_ROLL_IDS, f"{kri_id}\n{at.astimezone(UTC).isoformat()}"))

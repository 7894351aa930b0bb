"""The rolling 30-day windows of the KRIs "SLA breaches" and "customer satisfaction": which
days a window holds, the values over it, the thresholds (lower is worse for satisfaction), a
cleared value, and when the daily window roll is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from risk.app.kri_windows import customer_satisfaction_spec, sla_breaches_spec
from risk.domain.kri import Kri, KriDefinition, KriStatus, kri_status
from risk.domain.kri_events import KriStatusChanged, KriValueCleared
from risk.domain.kri_windows import (
    DayTotals,
    KriWindowDay,
    WindowEntry,
    WindowMeasure,
    in_window,
    roll_due,
    roll_measurement_id,
    start_of_day,
    window_days,
    window_value,
)
from shared_kernel.errors import Conflict

pytestmark = pytest.mark.unit

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_window_is_the_day_of_now_and_the_29_days_before_in_utc() -> None:
    days = window_days(NOON)
    assert (len(days), days[0], days[-1]) == (30, date(2026, 11, 26), date(2026, 10, 28))
    # 00:30 in Berlin on the 27th is still the 26th in UTC.
    berlin = timezone(timedelta(hours=1))
    assert window_days(datetime(2026, 11, 27, 0, 30, tzinfo=berlin))[0] == date(2026, 11, 26)
    assert start_of_day(NOON) == datetime(2026, 11, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "counted"),
    [
        (NOON, True),
        (NOON - timedelta(days=29), True),  # 28 Oct: the oldest day of the window
        (datetime(2026, 10, 28, 0, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 27, 23, 59, tzinfo=UTC), False),  # left it at 00:00 on 27 Oct
        (NOON + timedelta(hours=11, minutes=59), True),  # later the same day
        (NOON + timedelta(days=1), False),  # a day ahead (clock skew): not yet
    ],
)
def test_an_entry_counts_while_its_day_is_in_the_window(at: datetime, counted: bool) -> None:
    assert in_window(at, NOON) is counted


def test_a_count_is_zero_over_an_empty_window_and_an_average_has_no_value() -> None:
    days = [DayTotals(2, 2.0), DayTotals(), DayTotals(1, 1.0)]
    assert window_value(WindowMeasure.COUNT, days) == 3.0
    assert window_value(WindowMeasure.COUNT, []) == 0.0
    ratings = [DayTotals(2, 9.0), DayTotals(1, 2.0)]  # 5 + 4, then 2
    assert window_value(WindowMeasure.AVERAGE, ratings) == pytest.approx(11 / 3)
    assert window_value(WindowMeasure.AVERAGE, [DayTotals(), DayTotals()]) is None


def test_a_day_keeps_each_entry_once_and_only_entries_of_its_day() -> None:
    day = KriWindowDay.of("customer-satisfaction-30d", date(2026, 11, 26))
    assert day.record("e1", WindowEntry(5.0, NOON), source_event_type="tickets.TicketRated")
    assert day.record("e2", WindowEntry(2.0, NOON), source_event_type="tickets.TicketRated")
    assert not day.record("e1", WindowEntry(5.0, NOON), source_event_type="tickets.TicketRated")
    assert day.totals == DayTotals(2, 7.0)
    assert len(day.pending_events()) == 2
    with pytest.raises(ValueError, match="not of 2026-11-26"):
        day.record("e3", WindowEntry(3.0, NOON + timedelta(days=1)), source_event_type="x")
    reloaded = KriWindowDay.load(day.id, day.pending_events())
    assert (reloaded.kri_id, reloaded.day, reloaded.totals) == (
        "customer-satisfaction-30d",
        date(2026, 11, 26),
        DayTotals(2, 7.0),
    )


@pytest.mark.parametrize(
    ("breaches", "status"),
    [(0, KriStatus.GREEN), (4, KriStatus.GREEN), (5, KriStatus.AMBER), (10, KriStatus.RED)],
)
def test_sla_breaches_turn_amber_from_5_and_red_from_10(breaches: int, status: KriStatus) -> None:
    assert kri_status(breaches, sla_breaches_spec(5, 10, "o").thresholds) is status


@pytest.mark.parametrize(
    ("average", "status"),
    [
        (4.6, KriStatus.GREEN),
        (4.01, KriStatus.GREEN),
        (4.0, KriStatus.AMBER),  # reaching a threshold counts
        (3.5, KriStatus.AMBER),
        (3.0, KriStatus.RED),
        (1.0, KriStatus.RED),
    ],
)
def test_low_satisfaction_is_worse(average: float, status: KriStatus) -> None:
    assert kri_status(average, customer_satisfaction_spec(4.0, 3.0, "o").thresholds) is status


def satisfaction() -> Kri:
    spec = customer_satisfaction_spec(4.0, 3.0, "risk-office")
    return Kri.define(spec.kri_id, spec.definition, spec.thresholds, defined_by="system:test")


def measure(kri: Kri, value: float, at: datetime, measurement_id: str = "m") -> None:
    kri.record_measurement(
        measurement_id, value, at, source="s", recorded_by="system:test", now=at, from_stream=True
    )


def test_a_cleared_value_leaves_the_kri_unmeasured_not_red_until_the_next_value() -> None:
    kri = satisfaction()
    assert kri.clear_value("c0", NOON, source="s", recorded_by="r", reason="none") is None
    measure(kri, 2.0, NOON)
    assert kri.status is KriStatus.RED

    cleared = kri.clear_value(
        "c1", NOON + timedelta(days=1), source="s", recorded_by="r", reason="x"
    )
    assert cleared is not None and cleared.from_status == "red"
    assert kri.latest is None and kri.last_measured_at == NOON + timedelta(days=1)
    assert kri.status is None
    assert (
        kri.clear_value("c2", NOON + timedelta(days=2), source="s", recorded_by="r", reason="x")
        is None
    )

    # Older than the "nothing": history only; a newer value counts again, from no status.
    measure(kri, 5.0, NOON + timedelta(hours=1), "old")
    assert kri.status is None
    measure(kri, 4.5, NOON + timedelta(days=3), "new")
    changes = [e for e in kri.pending_events() if isinstance(e, KriStatusChanged)]
    assert [(c.from_status, c.to_status) for c in changes] == [(None, "red"), (None, "green")]
    assert sum(isinstance(e, KriValueCleared) for e in kri.pending_events()) == 1
    reloaded = Kri.load(kri.id, kri.pending_events())
    assert (reloaded.status, reloaded.last_measured_at) == (
        KriStatus.GREEN,
        NOON + timedelta(days=3),
    )


def test_a_newer_measurement_is_not_undone_by_an_older_nothing() -> None:
    kri = satisfaction()
    measure(kri, 4.5, NOON)
    assert (
        kri.clear_value("c", NOON - timedelta(hours=1), source="s", recorded_by="r", reason="x")
        is None
    )
    assert kri.status is KriStatus.GREEN


def test_only_a_stream_fed_kri_loses_its_value() -> None:
    spec = customer_satisfaction_spec(4.0, 3.0, "o")
    posted = Kri.define(
        "posted",
        KriDefinition(name="Posted", description="", unit="", owner="o"),
        spec.thresholds,
        defined_by="u",
    )
    with pytest.raises(Conflict):
        posted.clear_value("c", NOON, source="s", recorded_by="r", reason="x")


def test_the_roll_is_due_once_per_day_for_a_kri_with_a_value() -> None:
    kri = satisfaction()
    midnight = start_of_day(NOON + timedelta(days=1))
    assert not roll_due(kri, midnight)  # never measured: nothing can leave its window
    measure(kri, 4.5, NOON)
    assert roll_due(kri, midnight)
    measure(kri, 4.5, midnight, roll_measurement_id(kri.kri_id, midnight))
    assert not roll_due(kri, midnight)
    assert roll_due(kri, midnight + timedelta(days=1))
    kri.clear_value("c", midnight + timedelta(days=1), source="s", recorded_by="r", reason="x")
    assert not roll_due(kri, midnight + timedelta(days=2))  # no value: nothing to roll


def test_the_roll_names_its_reading_by_kri_and_instant() -> None:
    at = start_of_day(NOON)
    assert roll_measurement_id("sla-breaches-30d", at) == roll_measurement_id(
        "sla-breaches-30d", at.astimezone(timezone(timedelta(hours=2)))
    )
    assert roll_measurement_id("sla-breaches-30d", at) != roll_measurement_id(
        "sla-breaches-30d", at + timedelta(days=1)
    )
    assert roll_measurement_id("sla-breaches-30d", at) != roll_measurement_id(
        "customer-satisfaction-30d", at
    )

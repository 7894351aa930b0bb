"""KRI rules: the status function in both directions and at its boundaries, threshold
validation, one status-change event per change, out-of-order measurements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from risk.domain.kri import (
    Kri,
    KriDefinition,
    KriSource,
    KriStatus,
    Thresholds,
    kri_status,
)
from risk.domain.kri_events import (
    KriMeasurementRecorded,
    KriStatusChanged,
    KriThresholdChangeRejected,
    KriThresholdChangeRequested,
    KriThresholdsChanged,
)
from shared_kernel.domain import DomainEvent
from shared_kernel.errors import Conflict, DomainError, NotFound, PermissionDenied
from shared_kernel.identity import Caller

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HIGHER = Thresholds.of("higher_is_worse", 5, 10)
LOWER = Thresholds.of("lower_is_worse", 120, 100)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-1, KriStatus.GREEN),
        (0, KriStatus.GREEN),
        (4.999, KriStatus.GREEN),
        (5, KriStatus.AMBER),
        (9.999, KriStatus.AMBER),
        (10, KriStatus.RED),
        (1e9, KriStatus.RED),
    ],
)
def test_higher_is_worse_is_amber_and_red_from_the_thresholds_on(
    value: float, expected: KriStatus
) -> None:
    assert kri_status(value, HIGHER) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (500, KriStatus.GREEN),
        (120.001, KriStatus.GREEN),
        (120, KriStatus.AMBER),
        (100.001, KriStatus.AMBER),
        (100, KriStatus.RED),
        (0, KriStatus.RED),
        (-3, KriStatus.RED),
    ],
)
def test_lower_is_worse_is_amber_and_red_at_or_below_the_thresholds(
    value: float, expected: KriStatus
) -> None:
    assert kri_status(value, LOWER) is expected


@pytest.mark.parametrize(
    ("direction", "amber", "red"),
    [
        ("higher_is_worse", 10, 5),
        ("higher_is_worse", 5, 5),
        ("lower_is_worse", 100, 120),
        ("lower_is_worse", 7, 7),
    ],
)
def test_thresholds_out_of_order_for_their_direction_are_refused(
    direction: str, amber: float, red: float
) -> None:
    with pytest.raises(DomainError) as refused:
        Thresholds.of(direction, amber, red)
    assert refused.value.field == "amber"
    assert refused.value.code == "ThresholdsOutOfOrder"


@pytest.mark.parametrize(
    ("direction", "amber", "red", "field"),
    [
        ("sideways", 1, 2, "direction"),
        ("higher_is_worse", float("nan"), 2, "amber"),
        ("higher_is_worse", 1, float("inf"), "red"),
    ],
)
def test_invalid_directions_and_non_finite_thresholds_are_refused(
    direction: str, amber: float, red: float, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        Thresholds.of(direction, amber, red)
    assert refused.value.field == field


def defined(thresholds: Thresholds = HIGHER, source: KriSource = KriSource.MEASUREMENT) -> Kri:
    rule = "tickets.open-critical-incidents" if source is KriSource.STREAM else None
    kri = Kri.define(
        "failed-payments",
        KriDefinition("Failed payments", "per hour", "count", "user:ro", source, rule),
        thresholds,
        defined_by="user:ro",
    )
    kri.mark_saved()
    return kri


def measure(kri: Kri, value: float, at: datetime, number: int) -> list[DomainEvent]:
    kri.record_measurement(f"m{number}", value, at, source="test", recorded_by="sys", now=NOW)
    events = kri.pending_events()
    kri.mark_saved()
    return events


def changes(events: Sequence[DomainEvent]) -> list[tuple[str | None, str]]:
    return [(e.from_status, e.to_status) for e in events if isinstance(e, KriStatusChanged)]


def test_a_status_change_is_recorded_once_per_change_and_never_for_the_same_status() -> None:
    kri = defined()
    values = [1, 2, 6, 7, 12, 11, 3, 3, 5, 4.9]
    recorded = [
        measure(kri, v, NOW - timedelta(minutes=len(values) - i), i) for i, v in enumerate(values)
    ]

    assert [changes(events) for events in recorded] == [
        [(None, "green")],
        [],
        [("green", "amber")],
        [],
        [("amber", "red")],
        [],
        [("red", "green")],
        [],
        [("green", "amber")],
        [("amber", "green")],
    ]
    assert kri.status is KriStatus.GREEN
    assert kri.measurements == len(values)


def test_the_status_change_names_the_measurement_that_caused_it() -> None:
    kri = defined()
    measure(kri, 1, NOW - timedelta(minutes=2), 1)
    events = measure(kri, 10, NOW - timedelta(minutes=1), 2)

    change = next(e for e in events if isinstance(e, KriStatusChanged))
    assert (change.value, change.measurement_id, change.cause) == (10.0, "m2", "measurement")
    assert change.measured_at == NOW - timedelta(minutes=1)


def test_an_out_of_order_measurement_is_kept_but_changes_nothing() -> None:
    kri = defined()
    measure(kri, 1, NOW, 1)
    late = measure(kri, 50, NOW - timedelta(hours=1), 2)

    assert changes(late) == []
    (recorded,) = late
    assert isinstance(recorded, KriMeasurementRecorded)
    assert (recorded.current, recorded.status) == (False, "red")
    assert kri.status is KriStatus.GREEN
    assert kri.latest is not None and kri.latest.measurement_id == "m1"
    assert kri.measurements == 2


def test_a_measurement_at_the_same_instant_replaces_the_latest() -> None:
    kri = defined()
    measure(kri, 1, NOW, 1)
    corrected = measure(kri, 11, NOW, 2)

    assert changes(corrected) == [("green", "red")]


def test_the_state_folds_back_from_the_history() -> None:
    kri = Kri.define(
        "lcr",
        KriDefinition("Liquidity coverage", "", "%", "user:ro"),
        LOWER,
        defined_by="user:ro",
    )
    kri.record_measurement("m1", 130, NOW, source="s", recorded_by="sys", now=NOW)
    kri.record_measurement(
        "m2", 99, NOW + timedelta(minutes=1), source="s", recorded_by="sys", now=NOW
    )
    kri.record_measurement(
        "m3", 150, NOW - timedelta(days=1), source="s", recorded_by="sys", now=NOW
    )

    loaded = Kri.load(kri.id, kri.pending_events())

    assert loaded.status is KriStatus.RED
    assert loaded.latest is not None and loaded.latest.measurement_id == "m2"
    assert loaded.thresholds == LOWER
    assert loaded.version == len(kri.pending_events())


OFFICER_B = Caller("user:bea", frozenset({"risk-officer"}), "back")


def test_requested_thresholds_apply_only_once_a_second_officer_approves() -> None:
    kri = defined()
    measure(kri, 7, NOW, 1)
    kri.request_threshold_change(
        "c1", Thresholds.of("higher_is_worse", 2, 6), requested_by="user:al", reason="tighter"
    )
    assert kri.current_thresholds == HIGHER
    assert kri.status is KriStatus.AMBER

    kri.approve_threshold_change("c1", OFFICER_B, "agreed")

    requested, changed, status = kri.pending_events()[-3:]
    assert isinstance(requested, KriThresholdChangeRequested)
    assert isinstance(changed, KriThresholdsChanged)
    assert (changed.requested_by, changed.approved_by, changed.reason) == (
        "user:al",
        "user:bea",
        "tighter",
    )
    assert isinstance(status, KriStatusChanged)
    assert (status.from_status, status.to_status, status.cause) == (
        "amber",
        "red",
        "thresholds_changed",
    )
    assert kri.current_thresholds == Thresholds.of("higher_is_worse", 2, 6)
    assert kri.pending_change is None


@pytest.mark.parametrize(
    ("approver", "code"),
    [
        (
            Caller("user:al", frozenset({"risk-officer"}), "back"),
            "FourEyesViolation",
        ),
        (
            Caller("user:fo", frozenset({"risk-officer"}), "front"),
            "BackOfficeRequired",
        ),
        (
            Caller("user:co", frozenset({"controller"}), "back"),
            "ApproverRoleRequired",
        ),
    ],
)
def test_the_requester_outsiders_and_other_roles_may_not_approve(
    approver: Caller, code: str
) -> None:
    kri = defined()
    kri.request_threshold_change(
        "c1", Thresholds.of("higher_is_worse", 50, 60), requested_by="user:al", reason="looser"
    )
    with pytest.raises(PermissionDenied) as refused:
        kri.approve_threshold_change("c1", approver)
    assert refused.value.code == code
    assert kri.current_thresholds == HIGHER
    assert kri.pending_change is not None


def test_one_request_at_a_time_and_a_rejection_clears_it() -> None:
    kri = defined()
    looser = Thresholds.of("higher_is_worse", 50, 60)
    kri.request_threshold_change("c1", looser, requested_by="user:al", reason="r")
    with pytest.raises(Conflict) as pending:
        kri.request_threshold_change("c2", looser, requested_by="user:bea", reason="r")
    assert pending.value.code == "ThresholdChangePending"
    with pytest.raises(NotFound):
        kri.approve_threshold_change("c9", OFFICER_B)

    kri.reject_threshold_change("c1", rejected_by="user:bea", reason="no")

    assert isinstance(kri.pending_events()[-1], KriThresholdChangeRejected)
    assert kri.pending_change is None and kri.current_thresholds == HIGHER
    with pytest.raises(NotFound):
        kri.approve_threshold_change("c1", OFFICER_B)


def test_an_approved_change_without_a_measurement_records_no_status() -> None:
    kri = defined()
    kri.request_threshold_change(
        "c1", Thresholds.of("lower_is_worse", 6, 2), requested_by="u", reason="r"
    )
    kri.approve_threshold_change("c1", OFFICER_B)
    assert changes(kri.pending_events()) == []
    assert kri.status is None
    assert kri.current_thresholds.direction.value == "lower_is_worse"


def test_unchanged_thresholds_are_refused() -> None:
    with pytest.raises(Conflict):
        defined().request_threshold_change("c", HIGHER, requested_by="u", reason="same")


def test_details_change_with_a_reason_and_only_when_something_changes() -> None:
    kri = defined()
    kri.change_details(
        "Failed payments (SEPA)", "", "count", "user:new-owner", changed_by="u", reason="handover"
    )
    assert kri.definition is not None
    assert (kri.definition.name, kri.definition.owner) == (
        "Failed payments (SEPA)",
        "user:new-owner",
    )

    with pytest.raises(Conflict):
        kri.change_details(
            "Failed payments (SEPA)", "", "count", "user:new-owner", changed_by="u", reason="r"
        )
    with pytest.raises(DomainError) as refused:
        kri.change_details("n", "", "count", " ", changed_by="u", reason="r")
    assert refused.value.field == "owner"


def test_measurements_in_the_future_or_without_time_zone_or_not_finite_are_refused() -> None:
    kri = defined()
    for value, at, field in [
        (1.0, NOW + timedelta(hours=1), "measured_at"),
        (1.0, NOW.replace(tzinfo=None), "measured_at"),
        (float("nan"), NOW, "value"),
    ]:
        with pytest.raises(DomainError) as refused:
            kri.record_measurement("m", value, at, source="s", recorded_by="u", now=NOW)
        assert refused.value.field == field
    assert kri.pending_events() == []


def test_a_stream_fed_kri_takes_no_posted_measurement() -> None:
    kri = defined(source=KriSource.STREAM)
    with pytest.raises(Conflict) as refused:
        kri.record_measurement("m", 1, NOW, source="s", recorded_by="u", now=NOW)
    assert refused.value.code == "KriFedByStream"
    kri.record_measurement("m", 1, NOW, source="s", recorded_by="u", now=NOW, from_stream=True)
    assert kri.status is KriStatus.GREEN


@pytest.mark.parametrize(
    ("kri_id", "source", "rule", "field"),
    [
        ("Bad Id", KriSource.MEASUREMENT, None, "kri_id"),
        ("ok", KriSource.STREAM, None, "stream_rule"),
        ("ok", KriSource.MEASUREMENT, "tickets.x", "stream_rule"),
    ],
)
def test_invalid_definitions_are_refused(
    kri_id: str, source: KriSource, rule: str | None, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        Kri.define(kri_id, KriDefinition("n", "", "u", "o", source, rule), HIGHER, defined_by="u")
    assert refused.value.field == field

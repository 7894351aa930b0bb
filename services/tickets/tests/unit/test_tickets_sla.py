"""SLA policies and clocks against hand-computed deadlines.

All cases use the default calendar (Berlin, Mon-Fri 08:00-18:00, 10 business hours a day);
in late November 2026 Berlin is UTC+1, so 09:00 local is 08:00 UTC. Week used:
Mon 23, Tue 24, Wed 25, Thu 26, Fri 27, (Sat 28, Sun 29), Mon 30 November 2026.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from shared_kernel.errors import DomainError
from tickets.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar
from tickets.domain.sla import DEFAULT_SLA_POLICY, SlaClock, SlaPolicy, SlaTarget

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
CAL = DEFAULT_CALENDAR
H = timedelta(hours=1)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in November 2026, Berlin time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the default policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "first_response", "resolution"),
    [(1, 1 * H, 4 * H), (2, 4 * H, 8 * H), (3, 8 * H, 24 * H), (4, 16 * H, 40 * H)],
)
def test_default_policy_targets(
    priority: int, first_response: timedelta, resolution: timedelta
) -> None:
    assert DEFAULT_SLA_POLICY.target(priority) == SlaTarget(first_response, resolution)
    assert DEFAULT_SLA_POLICY.calendar == DEFAULT_CALENDAR
    assert DEFAULT_SLA_POLICY.warning_ratio == 0.75


@pytest.mark.parametrize("priority", [0, 5, -1, "1", None])
def test_unknown_priority_is_refused(priority: object) -> None:
    with pytest.raises(DomainError) as refused:
        DEFAULT_SLA_POLICY.target(priority)  # type: ignore[arg-type]
    assert refused.value.field == "priority"


# -- due instants and warnings -----------------------------------------------------------------


def test_due_and_warning_of_a_p4_ticket() -> None:
    clock = SlaClock(started_at=berlin(24, 9))
    target = DEFAULT_SLA_POLICY.target(4)
    # Resolution 40 h from Tue 09:00: Tue 9 h, Wed 10 h, Thu 10 h, Fri 10 h = 39 h,
    # 1 h on Mon 30 -> 09:00 CET = 08:00 UTC.
    assert clock.due_at(CAL, target.resolution) == utc(2026, 11, 30, 8)
    # Warning at 75 % = 30 h: Tue 9, Wed 10 (19), Thu 10 (29), 1 h Fri -> 09:00 CET = 08:00 UTC.
    assert clock.due_at(CAL, target.resolution, 0.75) == utc(2026, 11, 27, 8)
    # First response 16 h: Tue 9 h, 7 h on Wed -> 15:00 CET = 14:00 UTC; warning 12 h ->
    # Wed 11:00 CET = 10:00 UTC.
    assert clock.due_at(CAL, target.first_response) == utc(2026, 11, 25, 14)
    assert clock.due_at(CAL, target.first_response, 0.75) == utc(2026, 11, 25, 10)


def test_warning_uses_the_policys_ratio() -> None:
    # P2 resolution 8 h from Mon 10:00: due Mon 18:00 CET = 17:00 UTC (the closing instant);
    # warning 75 % = 6 h -> 16:00 CET = 15:00 UTC; with a 50 % policy 4 h -> 14:00 CET.
    clock = SlaClock(started_at=berlin(23, 10))
    eight_hours = DEFAULT_SLA_POLICY.target(2).resolution
    assert clock.due_at(CAL, eight_hours) == utc(2026, 11, 23, 17)
    assert clock.due_at(CAL, eight_hours, DEFAULT_SLA_POLICY.warning_ratio) == utc(2026, 11, 23, 15)
    half = SlaPolicy("half", CAL, dict(DEFAULT_SLA_POLICY.targets), warning_ratio=0.5)
    assert clock.due_at(CAL, eight_hours, half.warning_ratio) == utc(2026, 11, 23, 13)


def test_ticket_opened_on_saturday_starts_counting_on_monday() -> None:
    # P1 first response 1 h from Sat 28 Nov 11:00: Mon 30 Nov 09:00 CET = 08:00 UTC.
    clock = SlaClock(started_at=berlin(28, 11))
    assert clock.due_at(CAL, DEFAULT_SLA_POLICY.target(1).first_response) == utc(2026, 11, 30, 8)
    assert clock.elapsed(CAL, berlin(29, 23)) == timedelta(0)


def test_warning_is_before_due_and_elapsed_matches_both() -> None:
    clock = SlaClock(started_at=berlin(24, 9))
    warning, due = clock.due_at(CAL, 40 * H, 0.75), clock.due_at(CAL, 40 * H)
    assert warning is not None and due is not None
    assert warning < due
    assert clock.elapsed(CAL, warning) == 30 * H
    assert clock.elapsed(CAL, due) == 40 * H


# -- pauses ------------------------------------------------------------------------------------


def test_pause_across_a_night_moves_due_by_the_business_time_paused() -> None:
    started = SlaClock(started_at=berlin(24, 9))
    # Paused Tue 17:00, resumed Wed 09:30: business time paused = Tue 17-18 (1 h) + Wed
    # 08:00-09:30 (1.5 h) = 2.5 h. Due moves from Mon 30 09:00 to Mon 30 11:30 CET
    # = 10:30 UTC.
    paused = started.pause(berlin(24, 17))
    resumed = paused.resume(berlin(25, 9, 30))
    assert started.due_at(CAL, 40 * H) == utc(2026, 11, 30, 8)
    assert resumed.due_at(CAL, 40 * H) == utc(2026, 11, 30, 10, 30)
    assert CAL.between(berlin(24, 17), berlin(25, 9, 30)) == timedelta(hours=2.5)
    # Elapsed on Wed 10:00: Tue 09-17 (8 h) + Wed 09:30-10:00 (0.5 h).
    assert resumed.elapsed(CAL, berlin(25, 10)) == timedelta(hours=8.5)


def test_paused_clock_has_no_due_instant_and_does_not_run() -> None:
    paused = SlaClock(started_at=berlin(24, 9)).pause(berlin(24, 11))
    assert paused.paused
    assert paused.due_at(CAL, 40 * H) is None
    assert paused.due_at(CAL, 40 * H, 0.75) is None
    # Elapsed stays at the 2 h run before the pause, however late we look.
    assert paused.elapsed(CAL, berlin(24, 11)) == 2 * H
    assert paused.elapsed(CAL, berlin(30, 17)) == 2 * H


def test_pause_over_a_weekend_does_not_move_due() -> None:
    # Paused Sat 10:00, resumed Sun 12:00: no business time paused, due unchanged.
    started = SlaClock(started_at=berlin(24, 9))
    around_weekend = started.pause(berlin(28, 10)).resume(berlin(29, 12))
    assert around_weekend.due_at(CAL, 40 * H) == started.due_at(CAL, 40 * H)


def test_several_pauses_add_up() -> None:
    # Started Mon 23 09:00; paused Mon 10-12 (2 h) and Tue 14:00 - Wed 10:00 (4 h + 2 h).
    # Runs: Mon 09-10 (1 h), Mon 12-18 (6 h), Tue 08-14 (6 h) = 13 h before Wed 10:00;
    # 24 h target needs 11 h more: Wed 10-18 (8 h), 3 h Thu -> 11:00 CET = 10:00 UTC.
    clock = (
        SlaClock(started_at=berlin(23, 9))
        .pause(berlin(23, 10))
        .resume(berlin(23, 12))
        .pause(berlin(24, 14))
        .resume(berlin(25, 10))
    )
    assert clock.elapsed(CAL, berlin(25, 10)) == 13 * H
    assert clock.due_at(CAL, 24 * H) == utc(2026, 11, 26, 10)


def test_due_reached_before_a_later_pause_stays_in_that_run() -> None:
    # Started Mon 09:00, paused Mon 12:00 (3 h run), resumed Tue 09:00; a 2 h target was
    # reached in the first run: Mon 11:00 CET = 10:00 UTC.
    clock = SlaClock(started_at=berlin(23, 9)).pause(berlin(23, 12)).resume(berlin(24, 9))
    assert clock.due_at(CAL, 2 * H) == utc(2026, 11, 23, 10)
    # Exactly 3 h is reached at the pause itself: Mon 12:00 CET = 11:00 UTC.
    assert clock.due_at(CAL, 3 * H) == utc(2026, 11, 23, 11)
    # 4 h: 3 h in the first run, 1 h after Tue 09:00 -> 10:00 CET = 09:00 UTC.
    assert clock.due_at(CAL, 4 * H) == utc(2026, 11, 24, 9)


def test_pause_and_resume_are_idempotent() -> None:
    clock = SlaClock(started_at=berlin(24, 9))
    assert clock.resume(berlin(24, 10)) == clock  # not paused: no-op
    paused = clock.pause(berlin(24, 10))
    assert paused.pause(berlin(24, 11)) == paused  # already paused: no-op
    resumed = paused.resume(berlin(24, 12))
    assert resumed.resume(berlin(24, 13)) == resumed
    assert resumed.pauses == ((utc(2026, 11, 24, 9), utc(2026, 11, 24, 11)),)


def test_instants_before_the_latest_change_are_taken_as_that_change() -> None:
    # A pause stamped before the start (writers' clocks disagree) pauses at the start.
    clock = SlaClock(started_at=berlin(24, 9)).pause(berlin(24, 8, 59))
    assert clock.pauses == ((utc(2026, 11, 24, 8), None),)
    resumed = clock.resume(berlin(24, 8))
    assert resumed.pauses == ((utc(2026, 11, 24, 8), utc(2026, 11, 24, 8)),)


# -- stop, met and breached --------------------------------------------------------------------


def test_met_when_stopped_within_the_target() -> None:
    # P1 first response 1 h from Mon 09:00 (due 10:00 CET); answered at 09:40.
    clock = SlaClock(started_at=berlin(23, 9))
    assert clock.met(CAL, H) is None
    stopped = clock.stop(berlin(23, 9, 40))
    assert stopped.met(CAL, H) is True
    assert stopped.elapsed(CAL, berlin(30, 9)) == timedelta(minutes=40)
    assert stopped.due_at(CAL, H) == utc(2026, 11, 23, 9)


def test_breached_when_stopped_after_the_target() -> None:
    # Answered Mon 10:01 CET: 61 min of business time > 1 h.
    stopped = SlaClock(started_at=berlin(23, 9)).stop(berlin(23, 10, 1))
    assert stopped.met(CAL, H) is False
    due = stopped.due_at(CAL, H)
    assert due is not None and stopped.stopped_at is not None
    assert stopped.stopped_at > due


def test_stopped_exactly_at_the_target_is_met() -> None:
    stopped = SlaClock(started_at=berlin(23, 9)).stop(berlin(23, 10))
    assert stopped.met(CAL, H) is True


def test_stop_while_paused_closes_the_pause() -> None:
    # Started Mon 09:00, paused Mon 11:00, stopped Tue 12:00 while still paused.
    stopped = SlaClock(started_at=berlin(23, 9)).pause(berlin(23, 11)).stop(berlin(24, 12))
    assert not stopped.paused
    assert stopped.pauses == ((utc(2026, 11, 23, 10), utc(2026, 11, 24, 11)),)
    assert stopped.elapsed(CAL, berlin(30, 9)) == 2 * H
    assert stopped.met(CAL, 4 * H) is True
    # Had it kept running from the stop: 2 h done, 2 h from Tue 12:00 -> 14:00 CET.
    assert stopped.due_at(CAL, 4 * H) == utc(2026, 11, 24, 13)


def test_a_stopped_clock_ignores_pause_resume_and_stop() -> None:
    stopped = SlaClock(started_at=berlin(23, 9)).stop(berlin(23, 12))
    assert stopped.pause(berlin(23, 13)) == stopped
    assert stopped.resume(berlin(23, 14)) == stopped
    assert stopped.stop(berlin(24, 9)) == stopped
    assert stopped.stopped_at == utc(2026, 11, 23, 11)
    # Elapsed counts only up to the stop: Mon 09-12 = 3 h.
    assert stopped.elapsed(CAL, berlin(24, 17)) == 3 * H
    assert stopped.elapsed(CAL, berlin(23, 10)) == H


def test_elapsed_before_the_start_is_zero() -> None:
    clock = SlaClock(started_at=berlin(24, 9))
    assert clock.elapsed(CAL, berlin(23, 12)) == timedelta(0)


# -- reproducibility -----------------------------------------------------------------------------


def fold(events: list[tuple[str, datetime]]) -> SlaClock:
    """What the ticket aggregate does: fold a clock from its events."""
    clock: SlaClock | None = None
    for kind, at in events:
        if kind == "opened":
            clock = SlaClock(started_at=at)
        elif clock is not None:
            clock = {"pending": clock.pause, "open": clock.resume, "resolved": clock.stop}[kind](at)
    assert clock is not None
    return clock


def test_due_instants_are_a_pure_function_of_the_events() -> None:
    events = [
        ("opened", berlin(24, 9)),
        ("pending", berlin(24, 17)),
        ("open", berlin(25, 9, 30)),
    ]
    # The same events as UTC instants (as they come back from the event store).
    stored = [(kind, at.astimezone(UTC)) for kind, at in events]
    first, rebuilt = fold(events), fold(stored)
    assert first == rebuilt
    for ratio in (0.75, 1.0):
        assert first.due_at(CAL, 40 * H, ratio) == rebuilt.due_at(CAL, 40 * H, ratio)
    assert rebuilt.due_at(CAL, 40 * H) == utc(2026, 11, 30, 10, 30)


def test_clock_instants_are_kept_in_utc() -> None:
    clock = SlaClock(started_at=berlin(24, 9)).pause(berlin(24, 10)).stop(berlin(24, 11))
    instants = [clock.started_at, clock.stopped_at, *clock.pauses[0]]
    assert all(instant is not None and instant.tzinfo is UTC for instant in instants)


def test_clock_across_a_daylight_saving_weekend() -> None:
    # P2 resolution 8 h, opened Fri 23 Oct 2026 14:00 CEST (12:00 UTC): 4 h on Friday,
    # clocks go back on Sunday, 4 h on Mon 26 Oct -> 12:00 CET = 11:00 UTC.
    clock = SlaClock(started_at=datetime(2026, 10, 23, 14, tzinfo=BERLIN))
    assert clock.due_at(CAL, 8 * H) == utc(2026, 10, 26, 11)


# -- validation ------------------------------------------------------------------------------------


def test_naive_instants_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        SlaClock(started_at=datetime(2026, 11, 24, 9))
    assert refused.value.field == "started_at"
    clock = SlaClock(started_at=berlin(24, 9))
    with pytest.raises(DomainError) as refused:
        clock.pause(datetime(2026, 11, 24, 10))
    assert refused.value.field == "at"
    with pytest.raises(DomainError) as refused:
        clock.elapsed(CAL, datetime(2026, 11, 24, 10))
    assert refused.value.field == "at"


def test_bad_target_or_ratio_for_due_is_refused() -> None:
    clock = SlaClock(started_at=berlin(24, 9))
    with pytest.raises(DomainError) as refused:
        clock.due_at(CAL, -H)
    assert refused.value.field == "target"
    with pytest.raises(DomainError) as refused:
        clock.due_at(CAL, H, 0)
    assert refused.value.field == "ratio"


@pytest.mark.parametrize(
    ("first_response", "resolution", "field"),
    [
        (timedelta(0), H, "first_response"),
        (-H, H, "first_response"),
        (H, timedelta(0), "resolution"),
        (timedelta(milliseconds=1500), H, "first_response"),
        (4 * H, H, "resolution"),
    ],
)
def test_invalid_target_is_refused(
    first_response: timedelta, resolution: timedelta, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        SlaTarget(first_response, resolution)
    assert refused.value.field == field


def four_targets() -> dict[int, SlaTarget]:
    return {p: SlaTarget(p * H, 2 * p * H) for p in (1, 2, 3, 4)}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"calendar": "default"}, "calendar"),
        ({"targets": {1: SlaTarget(H, H)}}, "targets"),
        ({"targets": {**four_targets(), 5: SlaTarget(H, H)}}, "targets"),
        ({"targets": {**four_targets(), 4: (H, H)}}, "targets"),
        ({"warning_ratio": 0.0}, "warning_ratio"),
        ({"warning_ratio": 1.0}, "warning_ratio"),
        ({"warning_ratio": 1.5}, "warning_ratio"),
        ({"warning_ratio": True}, "warning_ratio"),
    ],
)
def test_invalid_policy_is_refused(change: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "name": "p",
        "calendar": CAL,
        "targets": four_targets(),
        "warning_ratio": 0.75,
        **change,
    }
    with pytest.raises(DomainError) as refused:
        SlaPolicy(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_policy_targets_cannot_be_changed_afterwards() -> None:
    targets = four_targets()
    policy = SlaPolicy("p", CAL, targets)
    targets[1] = SlaTarget(9 * H, 9 * H)
    assert policy.target(1) == SlaTarget(H, 2 * H)
    with pytest.raises(TypeError):
        policy.targets[1] = SlaTarget(9 * H, 9 * H)  # type: ignore[index]


def test_policy_dict_round_trip_is_json_friendly() -> None:
    policy = SlaPolicy(
        "christmas",
        BusinessCalendar(
            "christmas",
            "Europe/Berlin",
            frozenset(range(5)),
            time(8),
            time(18),
            frozenset({date(2026, 12, 25)}),
        ),
        four_targets(),
        warning_ratio=0.8,
    )
    data = policy.to_dict()
    assert data["targets"] == {
        "1": {"first_response_seconds": 3600, "resolution_seconds": 7200},
        "2": {"first_response_seconds": 7200, "resolution_seconds": 14400},
        "3": {"first_response_seconds": 10800, "resolution_seconds": 21600},
        "4": {"first_response_seconds": 14400, "resolution_seconds": 28800},
    }
    assert data["warning_ratio"] == 0.8
    assert SlaPolicy.from_dict(json.loads(json.dumps(data))) == policy
    assert SlaPolicy.from_dict(DEFAULT_SLA_POLICY.to_dict()) == DEFAULT_SLA_POLICY
    assert hash(SlaPolicy.from_dict(data)) == hash(policy)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"targets": None}, "targets"),
        ({"targets": {"1": {"first_response_seconds": 60}}}, "targets.1"),
        ({"targets": {"9": {"first_response_seconds": 60, "resolution_seconds": 60}}}, "targets"),
        ({"calendar": None}, "calendar"),
        ({"calendar": {"time_zone": "Europe/Berlin"}}, "calendar.working_days"),
        ({"calendar": {**DEFAULT_CALENDAR.to_dict(), "opens": "25:00"}}, "calendar.opens"),
        ({"warning_ratio": "0.75"}, "warning_ratio"),
    ],
)
def test_policy_from_dict_refuses_bad_input(change: dict[str, object], field: str) -> None:
    data = {**DEFAULT_SLA_POLICY.to_dict(), **change}
    with pytest.raises(DomainError) as refused:
        SlaPolicy.from_dict(data)
    assert refused.value.field == field


def test_policy_from_dict_is_memoised_but_tells_types_apart() -> None:
    data = DEFAULT_SLA_POLICY.to_dict()
    assert SlaPolicy.from_dict(data) is SlaPolicy.from_dict(json.loads(json.dumps(data)))
    # A float (or a bool) where an integer belongs is refused even after the valid policy
    # was parsed and remembered.
    targets = dict(data["targets"])  # type: ignore[call-overload]
    for wrong in (3600.0, True):
        targets["1"] = {"first_response_seconds": wrong, "resolution_seconds": 14400}
        with pytest.raises(DomainError) as refused:
            SlaPolicy.from_dict({**data, "targets": targets})
        assert refused.value.field == "targets.1"


def test_calendars_with_the_same_rules_agree_whatever_their_name() -> None:
    # Deadlines depend on the rules, not on the calendar's name (they share cached hours).
    renamed = BusinessCalendar("renamed", "Europe/Berlin", frozenset(range(5)), time(8), time(18))
    clock = SlaClock(started_at=berlin(27, 16))
    # Fri 16:00 + 4 h -> Mon 30 10:00 CET = 09:00 UTC with both.
    assert clock.due_at(renamed, 4 * H) == clock.due_at(CAL, 4 * H) == utc(2026, 11, 30, 9)
    assert renamed != CAL


def test_only_the_last_pause_may_be_open() -> None:
    with pytest.raises(DomainError) as refused:
        SlaClock(berlin(23, 9), ((berlin(23, 10), None), (berlin(23, 11), berlin(23, 12))))
    assert refused.value.field == "pauses"


def test_a_clock_built_stopped_with_an_open_pause_ends_the_pause_at_the_stop() -> None:
    # As stop() does: paused Mon 11:00 CET, stopped Tue 12:00 CET = 11:00 UTC.
    clock = SlaClock(berlin(23, 9), ((berlin(23, 11), None),), stopped_at=berlin(24, 12))
    assert clock == SlaClock(berlin(23, 9)).pause(berlin(23, 11)).stop(berlin(24, 12))
    assert clock.pauses == ((utc(2026, 11, 23, 10), utc(2026, 11, 24, 11)),)
    assert clock.elapsed(CAL, berlin(30, 9)) == 2 * H

"""Properties of SLA clocks over random histories of pauses, resumes and stops."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickets.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar
from tickets.domain.sla import SlaClock

pytestmark = pytest.mark.unit

CALENDARS = [
    DEFAULT_CALENDAR,
    BusinessCalendar(
        "christmas",
        "Europe/Berlin",
        frozenset(range(5)),
        time(8),
        time(18),
        frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31)}),
    ),
    BusinessCalendar("night", "Europe/Berlin", frozenset(range(7)), time(0), time(6)),
    BusinessCalendar("new-york", "America/New_York", frozenset(range(5)), time(9), time(17)),
]
EPSILON = timedelta(microseconds=1)
calendars = st.sampled_from(CALENDARS)
starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
gaps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4))
targets = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=60))


def history(start: datetime, steps: list[timedelta]) -> SlaClock:
    """Pause and resume alternately after each gap: an even count ends running."""
    clock = SlaClock(started_at=start)
    at = start
    for index, gap in enumerate(steps):
        at += gap
        clock = clock.pause(at) if index % 2 == 0 else clock.resume(at)
    return clock


@given(calendars, starts, st.lists(gaps, max_size=6).map(lambda g: g[: len(g) // 2 * 2]), targets)
def test_due_is_the_first_instant_elapsed_reaches_the_target(
    cal: BusinessCalendar, start: datetime, steps: list[timedelta], target: timedelta
) -> None:
    clock = history(start, steps)
    assert not clock.paused
    due = clock.due_at(cal, target)
    assert due is not None
    assert clock.elapsed(cal, due) == target
    assert clock.elapsed(cal, due - EPSILON) < target
    warning = clock.due_at(cal, target, 0.75)
    assert warning is not None and warning <= due
    assert clock.elapsed(cal, warning) == target * 0.75


@given(calendars, starts, gaps, gaps, gaps, targets)
def test_a_pause_moves_due_by_exactly_the_business_time_paused(
    cal: BusinessCalendar,
    start: datetime,
    before: timedelta,
    length: timedelta,
    after: timedelta,
    target: timedelta,
) -> None:
    running = SlaClock(started_at=start)
    paused_at = start + before
    resumed_at = paused_at + length
    interrupted = running.pause(paused_at).resume(resumed_at)
    old_due, new_due = running.due_at(cal, target), interrupted.due_at(cal, target)
    assert old_due is not None and new_due is not None
    assert new_due >= old_due
    if running.elapsed(cal, paused_at) < target:
        assert cal.between(old_due, new_due) == cal.between(paused_at, resumed_at)
    else:
        assert new_due == old_due
    # Elapsed never runs while paused, and never exceeds the time that passed.
    at = resumed_at + after
    assert interrupted.elapsed(cal, at) == running.elapsed(cal, at) - cal.between(
        paused_at, min(resumed_at, at)
    )
    assert interrupted.elapsed(cal, paused_at) == interrupted.elapsed(cal, resumed_at)


@given(calendars, starts, st.lists(gaps, max_size=5), gaps, targets)
def test_met_tells_stop_within_target_from_breach(
    cal: BusinessCalendar,
    start: datetime,
    steps: list[timedelta],
    last: timedelta,
    target: timedelta,
) -> None:
    clock = history(start, steps)
    assert clock.met(cal, target) is None
    stop_at = max([start, *(p for pause in clock.pauses for p in pause if p is not None)]) + last
    stopped = clock.stop(stop_at)
    assert not stopped.paused
    met = stopped.met(cal, target)
    assert met is (stopped.elapsed(cal, stop_at) <= target)
    due = stopped.due_at(cal, target)
    assert due is not None
    if stop_at <= due:
        assert met is True
    elif met:
        # Stopped after the due instant yet met: only with exactly the target used, the clock
        # having stood still since (closed hours after a due at closing time, or a pause that
        # began the moment the target was reached).
        assert stopped.elapsed(cal, stop_at) == target
    # Nothing after the stop counts.
    assert stopped.elapsed(cal, stop_at + timedelta(days=30)) == stopped.elapsed(cal, stop_at)

"""Business calendar arithmetic against hand-computed instants.

Every expected instant is written literally in UTC, with the arithmetic in a comment. Berlin is
UTC+1 in winter (CET) and UTC+2 in summer (CEST); in 2026 the clocks go forward on Sunday
29 March (02:00 CET -> 03:00 CEST, at 01:00 UTC) and back on Sunday 25 October (03:00 CEST ->
02:00 CET, at 01:00 UTC).
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from shared_kernel.errors import DomainError
from tickets.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
H = timedelta(hours=1)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(
    opens: time = time(8),
    closes: time = time(18),
    days: frozenset[int] = WEEKDAYS,
    holidays: frozenset[date] = frozenset(),
    zone: str = "Europe/Berlin",
) -> BusinessCalendar:
    return BusinessCalendar("test", zone, days, opens, closes, holidays)


NIGHT = calendar(time(0), time(6), EVERY_DAY)
"""Open 00:00-06:00 local every day: the switch hour lies inside business hours."""


# -- the default calendar ------------------------------------------------------------------


def test_default_calendar_is_berlin_monday_to_friday_eight_to_six() -> None:
    assert DEFAULT_CALENDAR.name == "default"
    assert DEFAULT_CALENDAR.time_zone == "Europe/Berlin"
    assert DEFAULT_CALENDAR.working_days == frozenset({0, 1, 2, 3, 4})
    assert (DEFAULT_CALENDAR.opens, DEFAULT_CALENDAR.closes) == (time(8), time(18))
    assert DEFAULT_CALENDAR.holidays == frozenset()


# -- add -------------------------------------------------------------------------------------


def test_weekend_is_skipped() -> None:
    # Fri 2026-11-27 16:00 CET + 4 h: 2 h on Friday (16-18), Sat/Sun closed, 2 h on Monday
    # (08-10) -> Mon 2026-11-30 10:00 CET = 09:00 UTC.
    assert DEFAULT_CALENDAR.add(berlin(2026, 11, 27, 16), 4 * H) == utc(2026, 11, 30, 9)


def test_result_is_aware_utc() -> None:
    result = DEFAULT_CALENDAR.add(berlin(2026, 11, 27, 16), 4 * H)
    assert result.tzinfo is UTC


def test_holidays_are_skipped() -> None:
    # Christmas 2026: Fri 25 Dec and Mon 28 Dec are holidays.
    # Thu 24 Dec 16:00 CET + 4 h: 2 h on Thursday, Fri holiday, weekend, Mon holiday,
    # 2 h on Tue 29 Dec (08-10) -> 10:00 CET = 09:00 UTC.
    christmas = calendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))
    assert christmas.add(berlin(2026, 12, 24, 16), 4 * H) == utc(2026, 12, 29, 9)
    # Without the holidays the same sum ends on Friday 25 Dec 10:00 CET = 09:00 UTC.
    assert DEFAULT_CALENDAR.add(berlin(2026, 12, 24, 16), 4 * H) == utc(2026, 12, 25, 9)


def test_duration_ending_exactly_at_closing_ends_at_closing() -> None:
    # Fri 16:00 CET + 2 h = Fri 18:00 CET = 17:00 UTC (not Monday's opening).
    assert DEFAULT_CALENDAR.add(berlin(2026, 11, 27, 16), 2 * H) == utc(2026, 11, 27, 17)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Mon 06:00 CET, before opening: 08:00 + 1 h = 09:00 CET = 08:00 UTC.
        (berlin(2026, 11, 23, 6), utc(2026, 11, 23, 8)),
        # Mon 19:00 CET, after closing: Tue 08:00 + 1 h = 09:00 CET = 08:00 UTC.
        (berlin(2026, 11, 23, 19), utc(2026, 11, 24, 8)),
        # Sat 12:00 CET: Mon 08:00 + 1 h = 09:00 CET = 08:00 UTC.
        (berlin(2026, 11, 28, 12), utc(2026, 11, 30, 8)),
        # Mon 18:00 CET exactly, the closing instant is outside: Tue 09:00 CET = 08:00 UTC.
        (berlin(2026, 11, 23, 18), utc(2026, 11, 24, 8)),
    ],
)
def test_start_outside_business_hours_counts_from_the_next_opening(
    start: datetime, expected: datetime
) -> None:
    assert DEFAULT_CALENDAR.add(start, H) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Inside business hours: the start itself (Mon 10:15 CET = 09:15 UTC).
        (berlin(2026, 11, 23, 10, 15), utc(2026, 11, 23, 9, 15)),
        # Exactly at opening: the start itself (Mon 08:00 CET = 07:00 UTC).
        (berlin(2026, 11, 23, 8), utc(2026, 11, 23, 7)),
        # At closing (outside, half-open day): next opening Tue 08:00 CET = 07:00 UTC.
        (berlin(2026, 11, 23, 18), utc(2026, 11, 24, 7)),
        # Saturday: next opening Mon 30 Nov 08:00 CET = 07:00 UTC.
        (berlin(2026, 11, 28, 9), utc(2026, 11, 30, 7)),
    ],
)
def test_zero_duration_is_the_start_or_the_next_opening(
    start: datetime, expected: datetime
) -> None:
    assert DEFAULT_CALENDAR.add(start, timedelta(0)) == expected


def test_multi_week_duration() -> None:
    # Mon 2026-11-02 08:00 CET + 153 h: 15 business days of 10 h (2-6, 9-13, 16-20 Nov) take
    # 150 h and end Fri 20 Nov 18:00; 3 h more on Mon 23 Nov -> 11:00 CET = 10:00 UTC.
    assert DEFAULT_CALENDAR.add(berlin(2026, 11, 2, 8), 153 * H) == utc(2026, 11, 23, 10)


def test_multi_week_duration_with_holidays() -> None:
    # Same sum with two holidays inside (Wed 11 Nov and Fri 20 Nov): two more days needed,
    # Mon 23 Nov and Tue 24 Nov give 20 h; 3 h on Wed 25 Nov -> 11:00 CET = 10:00 UTC.
    with_holidays = calendar(holidays=frozenset({date(2026, 11, 11), date(2026, 11, 20)}))
    assert with_holidays.add(berlin(2026, 11, 2, 8), 153 * H) == utc(2026, 11, 25, 10)


def test_microseconds_are_kept() -> None:
    # Mon 08:00 CET + 1 h 0.000001 s = 09:00:00.000001 CET = 08:00:00.000001 UTC.
    result = DEFAULT_CALENDAR.add(berlin(2026, 11, 23, 8), H + timedelta(microseconds=1))
    assert result == datetime(2026, 11, 23, 8, 0, 0, 1, tzinfo=UTC)


def test_start_in_another_zone_is_the_same_instant() -> None:
    # 15:00 UTC = 16:00 CET, so the weekend case again: Mon 10:00 CET = 09:00 UTC.
    assert DEFAULT_CALENDAR.add(utc(2026, 11, 27, 15), 4 * H) == utc(2026, 11, 30, 9)


def test_a_ten_year_duration_is_exact() -> None:
    # About 2,600 business days of 10 hours; the speed of long sums is measured by make bench,
    # not here.
    start = berlin(2026, 11, 27, 16)
    ten_years = 26_000 * H
    end = DEFAULT_CALENDAR.add(start, ten_years)
    assert DEFAULT_CALENDAR.between(start, end) == ten_years


# -- between ---------------------------------------------------------------------------------


def test_between_counts_business_time_only() -> None:
    # Fri 16:00 CET to Mon 10:00 CET: 2 h + 2 h.
    assert DEFAULT_CALENDAR.between(berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 10)) == 4 * H
    # Mon 07:00 to Mon 20:00: the whole day, 10 h.
    assert DEFAULT_CALENDAR.between(berlin(2026, 11, 23, 7), berlin(2026, 11, 23, 20)) == 10 * H
    # A whole week Mon 00:00 to Mon 00:00: 5 x 10 h.
    assert DEFAULT_CALENDAR.between(berlin(2026, 11, 23), berlin(2026, 11, 30)) == 50 * H
    # Saturday to Sunday: nothing.
    assert DEFAULT_CALENDAR.between(berlin(2026, 11, 28), berlin(2026, 11, 29, 23)) == timedelta(0)


def test_between_skips_holidays() -> None:
    # Thu 24 Dec 16:00 to Tue 29 Dec 10:00 with 25 and 28 Dec off: 2 h + 2 h.
    christmas = calendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))
    assert christmas.between(berlin(2026, 12, 24, 16), berlin(2026, 12, 29, 10)) == 4 * H


def test_between_is_zero_for_an_empty_or_reversed_interval() -> None:
    instant = berlin(2026, 11, 23, 10)
    assert DEFAULT_CALENDAR.between(instant, instant) == timedelta(0)
    assert DEFAULT_CALENDAR.between(instant, instant - H) == timedelta(0)


# -- daylight-saving switches ----------------------------------------------------------------


def test_spring_forward_weekend_with_office_hours() -> None:
    # Fri 27 Mar 16:00 CET (15:00 UTC) + 4 h: 2 h Friday, clocks go forward on Sunday,
    # 2 h on Mon 30 Mar -> 10:00 CEST = 08:00 UTC.
    assert DEFAULT_CALENDAR.add(berlin(2026, 3, 27, 16), 4 * H) == utc(2026, 3, 30, 8)
    assert DEFAULT_CALENDAR.between(utc(2026, 3, 27, 15), utc(2026, 3, 30, 8)) == 4 * H


def test_fall_back_weekend_with_office_hours() -> None:
    # Fri 23 Oct 16:00 CEST (14:00 UTC) + 4 h: 2 h Friday, clocks go back on Sunday,
    # 2 h on Mon 26 Oct -> 10:00 CET = 09:00 UTC.
    assert DEFAULT_CALENDAR.add(berlin(2026, 10, 23, 16), 4 * H) == utc(2026, 10, 26, 9)
    assert DEFAULT_CALENDAR.between(utc(2026, 10, 23, 14), utc(2026, 10, 26, 9)) == 4 * H


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        # The switch is at night: 08:00 CEST = 06:00 UTC to 18:00 CEST = 16:00 UTC = 10 h.
        (date(2026, 3, 29), utc(2026, 3, 29, 6), utc(2026, 3, 29, 16)),
        # 08:00 CET = 07:00 UTC to 18:00 CET = 17:00 UTC = 10 h.
        (date(2026, 10, 25), utc(2026, 10, 25, 7), utc(2026, 10, 25, 17)),
    ],
)
def test_office_hours_on_a_switch_day_are_still_ten_hours(
    day: date, opens_utc: datetime, closes_utc: datetime
) -> None:
    every_day = calendar(days=EVERY_DAY)
    assert every_day.business_hours(day) == (opens_utc, closes_utc)
    assert every_day.add(opens_utc, 10 * H) == closes_utc
    assert every_day.between(opens_utc - 3 * H, closes_utc + 3 * H) == 10 * H


def test_night_calendar_has_five_real_hours_on_the_spring_forward_day() -> None:
    # Sun 29 Mar: opens 00:00 CET = Sat 23:00 UTC, closes 06:00 CEST = 04:00 UTC: 5 h.
    assert NIGHT.business_hours(date(2026, 3, 29)) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 4))
    assert NIGHT.between(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 5 * H
    # 3 h after opening is 02:00 UTC, which the clock shows as 04:00 CEST (a wall-clock
    # rule would say 03:00): elapsed time counts, not the dial.
    assert NIGHT.add(utc(2026, 3, 28, 23), 3 * H) == utc(2026, 3, 29, 2)
    # 5 h fill the day exactly; 5 h 1 min go on to Mon 30 Mar 00:01 CEST = Sun 22:01 UTC.
    assert NIGHT.add(utc(2026, 3, 28, 23), 5 * H) == utc(2026, 3, 29, 4)
    assert NIGHT.add(utc(2026, 3, 28, 23), 5 * H + timedelta(minutes=1)) == utc(2026, 3, 29, 22, 1)


def test_night_calendar_has_seven_real_hours_on_the_fall_back_day() -> None:
    # Sun 25 Oct: opens 00:00 CEST = Sat 22:00 UTC, closes 06:00 CET = 05:00 UTC: 7 h.
    assert NIGHT.business_hours(date(2026, 10, 25)) == (
        utc(2026, 10, 24, 22),
        utc(2026, 10, 25, 5),
    )
    assert NIGHT.between(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == 7 * H
    # 3 h after opening is 01:00 UTC = the *second* 02:00 of the night (02:00 CET).
    assert NIGHT.add(utc(2026, 10, 24, 22), 3 * H) == utc(2026, 10, 25, 1)
    assert NIGHT.add(utc(2026, 10, 24, 22), 7 * H) == utc(2026, 10, 25, 5)
    # The days around it have 6 h: Sat 24 Oct 00:00-06:00 CEST = Fri 22:00 - Sat 04:00 UTC.
    assert NIGHT.business_hours(date(2026, 10, 24)) == (
        utc(2026, 10, 23, 22),
        utc(2026, 10, 24, 4),
    )


def test_week_of_the_night_calendar_around_the_switches() -> None:
    # Mon 23 - Sun 29 Mar: six days of 6 h and the switch day of 5 h = 41 h.
    assert NIGHT.between(berlin(2026, 3, 23), berlin(2026, 3, 30)) == 41 * H
    # Mon 19 - Sun 25 Oct: six days of 6 h and the switch day of 7 h = 43 h.
    assert NIGHT.between(berlin(2026, 10, 19), berlin(2026, 10, 26)) == 43 * H


def test_bound_in_the_spring_gap_is_the_switch_instant() -> None:
    # Opens 02:30, which does not exist on 29 Mar: it opens when the clock jumps to 03:00
    # CEST = 01:00 UTC; closes 04:00 CEST = 02:00 UTC: 1 h.
    gap = calendar(time(2, 30), time(4), EVERY_DAY)
    assert gap.business_hours(date(2026, 3, 29)) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    # On an ordinary day 02:30-04:00 CET = 01:30-03:00 UTC: 1.5 h.
    assert gap.business_hours(date(2026, 3, 28)) == (
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 28, 3),
    )


def test_day_with_both_bounds_in_the_spring_gap_is_closed() -> None:
    # 02:15-02:45 does not exist on 29 Mar: no business time that day, the next opening is
    # Mon 30 Mar 02:15 CEST = 00:15 UTC.
    gap = calendar(time(2, 15), time(2, 45), EVERY_DAY)
    assert gap.business_hours(date(2026, 3, 29)) is None
    assert gap.add(utc(2026, 3, 28, 12), timedelta(0)) == utc(2026, 3, 30, 0, 15)


def test_ambiguous_bound_is_its_first_occurrence() -> None:
    # Opens 02:30 on 25 Oct, which happens twice: the first time, 02:30 CEST = 00:30 UTC;
    # closes 04:00 CET = 03:00 UTC: 2.5 h.
    twice = calendar(time(2, 30), time(4), EVERY_DAY)
    assert twice.business_hours(date(2026, 10, 25)) == (
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 3),
    )
    assert twice.between(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == timedelta(hours=2.5)


def test_almost_24_hour_calendar_across_both_switches() -> None:
    # 00:00-23:59 every day: 23 h 59 min on normal days, 22 h 59 min in spring, 24 h 59 min
    # in autumn (real time between the first 00:00 and 23:59 local).
    day_long = calendar(time(0), time(23, 59), EVERY_DAY)
    minute = timedelta(minutes=1)
    assert day_long.between(berlin(2026, 3, 28), berlin(2026, 3, 29)) == 24 * H - minute
    assert day_long.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H - minute
    assert day_long.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H - minute
    # Sat 28 Mar 00:00 CET (Fri 23:00 UTC) + 47 h: Saturday gives 23 h 59 min (23 h 1 min
    # to go); Sunday, 00:00 CET - 23:59 CEST = Sat 23:00 - Sun 21:59 UTC, gives 22 h 59 min
    # (2 min to go); Monday opens 00:00 CEST = Sun 22:00 UTC -> Sun 22:02 UTC.
    assert day_long.add(utc(2026, 3, 27, 23), 47 * H) == utc(2026, 3, 29, 22, 2)


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # New York, Fri 16:00 EST (21:00 UTC) + 4 h -> Mon 10:00 EST = 15:00 UTC.
        ("America/New_York", utc(2026, 11, 27, 21), utc(2026, 11, 30, 15)),
        # Kolkata (UTC+5:30), Fri 16:00 IST (10:30 UTC) + 4 h -> Mon 10:00 IST = 04:30 UTC.
        ("Asia/Kolkata", utc(2026, 11, 27, 10, 30), utc(2026, 11, 30, 4, 30)),
    ],
)
def test_other_time_zones(zone: str, start: datetime, expected: datetime) -> None:
    assert calendar(zone=zone).add(start, 4 * H) == expected


# -- validation and serialisation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"working_days": frozenset()}, "working_days"),
        ({"working_days": frozenset({7})}, "working_days"),
        ({"working_days": frozenset({-1, 2})}, "working_days"),
        ({"opens": time(18), "closes": time(8)}, "closes"),
        ({"opens": time(8), "closes": time(8)}, "closes"),
        ({"opens": time(8, tzinfo=UTC)}, "opens"),
        ({"holidays": frozenset({datetime(2026, 12, 25)})}, "holidays"),
        ({"name": " "}, "name"),
    ],
)
def test_invalid_calendar_is_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "name": "test",
        "time_zone": "Europe/Berlin",
        "working_days": WEEKDAYS,
        "opens": time(8),
        "closes": time(18),
        **kwargs,
    }
    with pytest.raises(DomainError) as refused:
        BusinessCalendar(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_naive_instants_and_negative_durations_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        DEFAULT_CALENDAR.add(datetime(2026, 11, 23, 9), H)
    assert refused.value.field == "start"
    with pytest.raises(DomainError) as refused:
        DEFAULT_CALENDAR.add(berlin(2026, 11, 23, 9), -H)
    assert refused.value.field == "duration"
    with pytest.raises(DomainError) as refused:
        DEFAULT_CALENDAR.between(berlin(2026, 11, 23, 9), datetime(2026, 11, 23, 10))
    assert refused.value.field == "end"


def test_dict_round_trip_is_json_friendly() -> None:
    original = BusinessCalendar(
        "christmas",
        "Europe/Berlin",
        frozenset({0, 1, 2, 3, 4}),
        time(8, 30),
        time(17, 45),
        frozenset({date(2026, 12, 28), date(2026, 12, 25)}),
    )
    data = original.to_dict()
    assert data == {
        "name": "christmas",
        "time_zone": "Europe/Berlin",
        "working_days": [0, 1, 2, 3, 4],
        "opens": "08:30",
        "closes": "17:45",
        "holidays": ["2026-12-25", "2026-12-28"],
    }
    assert BusinessCalendar.from_dict(json.loads(json.dumps(data))) == original


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opens": "8 o'clock"}, "opens"),
        ({"closes": 18}, "closes"),
        ({"opens": "08:00+01:00"}, "opens"),
        ({"time_zone": None}, "time_zone"),
        ({"time_zone": "Nowhere/Town"}, "time_zone"),
        ({"working_days": "0-4"}, "working_days"),
        ({"working_days": [0, "1"]}, "working_days"),
        ({"working_days": [[0]]}, "working_days"),
        ({"holidays": ["25.12.2026"]}, "holidays"),
        ({"holidays": "2026-12-25"}, "holidays"),
        ({"name": None}, "name"),
    ],
)
def test_from_dict_refuses_bad_input_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    data = {**DEFAULT_CALENDAR.to_dict(), **change}
    with pytest.raises(DomainError) as refused:
        BusinessCalendar.from_dict(data)
    assert refused.value.field == field


def test_calendar_is_a_hashable_value() -> None:
    same = BusinessCalendar("default", "Europe/Berlin", WEEKDAYS, time(8), time(18))
    DEFAULT_CALENDAR.add(berlin(2026, 11, 23, 9), H)  # fills its cache: still equal
    assert same == DEFAULT_CALENDAR
    assert hash(same) == hash(DEFAULT_CALENDAR)
    assert same != calendar(holidays=frozenset({date(2026, 12, 25)}))


# -- properties ------------------------------------------------------------------------------

PROPERTY_CALENDARS = [
    DEFAULT_CALENDAR,
    calendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})),
    NIGHT,
    calendar(time(0), time(23, 59), EVERY_DAY),
    calendar(time(2, 30), time(4), frozenset({5, 6})),  # bounds in the gap / repeated hour
    calendar(time(1), time(3), EVERY_DAY, zone="Australia/Lord_Howe"),  # 30-minute DST
    calendar(time(9), time(17), WEEKDAYS, zone="America/New_York"),
    calendar(time(7, 15), time(12, 45), frozenset({1, 3}), zone="Asia/Kolkata"),
]
calendars = st.sampled_from(PROPERTY_CALENDARS)
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))
EPSILON = timedelta(microseconds=1)


@given(calendars, instants, durations)
def test_between_inverts_add(cal: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    end = cal.add(start, duration)
    assert end >= start
    assert cal.between(start, end) == duration
    if duration > timedelta(0):
        # add answers the *first* instant at which the duration is complete.
        assert cal.between(start, end - EPSILON) < duration


@given(calendars, st.data())
def test_zero_duration_inside_business_hours_is_the_start(
    cal: BusinessCalendar, data: st.DataObject
) -> None:
    day = data.draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
    hours = cal.business_hours(day)
    assume(hours is not None)
    assert hours is not None
    opening, closing = hours
    start = opening + data.draw(st.timedeltas(timedelta(0), closing - opening - EPSILON))
    assert cal.add(start, timedelta(0)) == start
    assert cal.between(start, cal.add(start, H)) == H


@given(calendars, instants, durations, durations)
def test_add_is_monotonic_and_additive(
    cal: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    shorter, longer = sorted((first, second))
    assert cal.add(start, shorter) <= cal.add(start, longer)
    if second > timedelta(0):
        assert cal.add(cal.add(start, first), second) == cal.add(start, first + second)


@given(calendars, instants, durations, durations)
def test_between_is_additive(
    cal: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    middle, end = start + first, start + first + second
    assert cal.between(start, middle) + cal.between(middle, end) == cal.between(start, end)
    assert cal.between(start, end) <= end - start

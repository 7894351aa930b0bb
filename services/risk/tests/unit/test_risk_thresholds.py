"""Threshold crossings: up into warning and breach, down below each threshold, and flapping
around a threshold giving one event per actual crossing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from risk.domain.thresholds import (
    Crossing,
    ThresholdState,
    crossings,
    state_of,
    utilisation_bp,
)

pytestmark = pytest.mark.unit

BELOW, WARNING, BREACHED = ThresholdState.BELOW, ThresholdState.WARNING, ThresholdState.BREACHED


@pytest.mark.parametrize(
    ("exposure", "expected"),
    [
        (0, BELOW),
        (799, BELOW),
        (800, WARNING),  # exactly at the warning threshold: warning
        (1000, WARNING),  # using the limit fully is not a breach
        (1001, BREACHED),
    ],
)
def test_state_of_an_exposure_against_a_limit_of_1000_warning_at_80_percent(
    exposure: int, expected: ThresholdState
) -> None:
    assert state_of(exposure, 1000, 8000) is expected


def test_warning_threshold_is_exact_in_integers() -> None:
    # 33.33 % of 1000 is 333.3: 333 is below it, 334 above; compared in integers, no rounding.
    assert state_of(333, 1000, 3333) is BELOW
    assert state_of(334, 1000, 3333) is WARNING


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (BELOW, BELOW, []),
        (BELOW, WARNING, [Crossing.WARNING_REACHED]),
        (WARNING, BREACHED, [Crossing.BREACHED]),
        (BELOW, BREACHED, [Crossing.WARNING_REACHED, Crossing.BREACHED]),
        (BREACHED, WARNING, [Crossing.BACK_BELOW_LIMIT]),
        (WARNING, BELOW, [Crossing.BACK_BELOW_WARNING]),
        (BREACHED, BELOW, [Crossing.BACK_BELOW_LIMIT, Crossing.BACK_BELOW_WARNING]),
        (WARNING, WARNING, []),
        (BREACHED, BREACHED, []),
    ],
)
def test_crossings_between_states(
    before: ThresholdState, after: ThresholdState, expected: list[Crossing]
) -> None:
    assert crossings(before, after) == expected


def run(exposures: list[int], amount: int = 1000, warning_bp: int = 8000) -> list[Crossing]:
    state, seen = BELOW, []
    for exposure in exposures:
        after = state_of(exposure, amount, warning_bp)
        seen.extend(crossings(state, after))
        state = after
    return seen


def test_flapping_around_the_warning_threshold_gives_one_event_per_crossing() -> None:
    assert run([790, 810, 805, 799, 800, 800, 801, 500]) == [
        Crossing.WARNING_REACHED,
        Crossing.BACK_BELOW_WARNING,
        Crossing.WARNING_REACHED,
        Crossing.BACK_BELOW_WARNING,
    ]


def test_flapping_around_the_limit_gives_one_event_per_crossing() -> None:
    assert run([900, 1001, 1200, 1000, 1000, 1001, 999]) == [
        Crossing.WARNING_REACHED,
        Crossing.BREACHED,
        Crossing.BACK_BELOW_LIMIT,
        Crossing.BREACHED,
        Crossing.BACK_BELOW_LIMIT,
    ]


@given(st.lists(st.integers(min_value=0, max_value=3000), max_size=60))
def test_crossings_alternate_per_threshold_and_end_in_the_final_state(exposures: list[int]) -> None:
    seen = run(exposures)
    warning = [c for c in seen if c in (Crossing.WARNING_REACHED, Crossing.BACK_BELOW_WARNING)]
    limit = [c for c in seen if c in (Crossing.BREACHED, Crossing.BACK_BELOW_LIMIT)]
    # Up and down alternate per threshold, starting with up: never two ups in a row.
    assert warning == [Crossing.WARNING_REACHED, Crossing.BACK_BELOW_WARNING] * (
        len(warning) // 2
    ) + [Crossing.WARNING_REACHED] * (len(warning) % 2)
    assert limit == [Crossing.BREACHED, Crossing.BACK_BELOW_LIMIT] * (len(limit) // 2) + [
        Crossing.BREACHED
    ] * (len(limit) % 2)
    final = state_of(exposures[-1], 1000, 8000) if exposures else BELOW
    assert (len(warning) % 2 == 1) == (final is not BELOW)
    assert (len(limit) % 2 == 1) == (final is BREACHED)


def test_utilisation_in_basis_points() -> None:
    assert utilisation_bp(800, 1000) == 8000
    assert utilisation_bp(1500, 1000) == 15000
    assert utilisation_bp(-5, 1000) == 0

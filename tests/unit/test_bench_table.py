"""`make bench`'s closing table: one row per figure of issue 14, built from what ran."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "bench"))

from bench_common import Result
from bench_figures import FIGURES, Goal, table

pytestmark = pytest.mark.unit


def row(lines: list[str], key: str) -> list[str]:
    """The cells of the row of figure ``key``."""
    label = next(figure.label for figure in FIGURES if figure.key == key)
    found = [line for line in lines if line.startswith(f"| {label} |")]
    assert len(found) == 1, found
    return [cell.strip() for cell in found[0].strip("|").split("|")]


@pytest.mark.parametrize(
    ("goal", "value", "ratio", "met"),
    [
        (Goal.at_least(500), 500.0, None, True),
        (Goal.at_least(500), 499.9, None, False),
        (Goal.at_most(1.5), 1.5, None, True),
        (Goal.under(100), 100.0, None, False),
        (Goal.under(100), 99.0, None, True),
        (Goal.ratio(0.7), 1.0, 0.69, False),
        (Goal.ratio(0.7), 1.0, 0.7, True),
        (Goal.ratio(3), 1.0, None, None),
        (Goal.under(5), float("nan"), None, None),
    ],
)
def test_a_goal_is_met_or_missed_at_its_bound(
    goal: Goal, value: float, ratio: float | None, met: bool | None
) -> None:
    assert goal.met(value, ratio) is met


def test_every_figure_has_a_row_and_those_not_measured_say_not_run() -> None:
    lines = table(
        [
            Result("relay", 7_000, "events/s", "bare", 10_000, figure="relay"),
            Result("unrelated", 1, "x"),
        ]
    )
    assert len(lines) == 2 + len(FIGURES)
    assert row(lines, "relay")[1:] == [
        "7,000 events/s",
        "10,000 events/s",
        "0.70",
        ">= 0.7x baseline",
        "yes",
    ]
    assert row(lines, "lag")[1:] == ["not run", "", "", "< 100 ms", "not run"]


def test_the_goal_comes_from_the_figure_and_a_miss_says_no() -> None:
    lag = Result("lag", 140.0, "ms", "p50", 60.0, decimals=1, figure="lag")
    assert lag.goal == Goal.under(100)
    assert "MISSED" in lag.line()
    assert row(table([lag]), "lag")[1:] == ["140.0 ms", "60.0 ms", "2.33", "< 100 ms", "no"]


def test_a_result_naming_no_known_figure_is_refused() -> None:
    with pytest.raises(ValueError, match="no figure 'relais'"):
        Result("relay", 1.0, "events/s", figure="relais")

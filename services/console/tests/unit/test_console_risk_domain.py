"""The risk pages' pure parts: heat-map grid and links, utilisation bands, the KRI chart,
assessments from a risk's history, typed warning thresholds and pre-deal shortfalls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from console.domain.heatmap import CellFilter, HeatMapUnreadable, heat_grid
from console.domain.kri_chart import kri_chart
from console.domain.limits import (
    ShareNotUnderstood,
    share_of_percent,
    shortfalls,
    utilisation_bar,
)
from console.domain.risk_history import assessments_of, event_words

pytestmark = pytest.mark.unit

LEVELS = [
    ["low", "low", "low", "medium", "medium"],
    ["low", "low", "medium", "medium", "high"],
    ["low", "medium", "medium", "high", "high"],
    ["medium", "medium", "high", "high", "critical"],
    ["medium", "high", "high", "critical", "critical"],
]


def report() -> dict[str, Any]:
    inherent = [[0] * 5 for _ in range(5)]
    residual = [[0] * 5 for _ in range(5)]
    inherent[3][4] = 2  # likelihood 4, impact 5
    residual[1][2] = 1  # likelihood 2, impact 3
    return {"inherent": inherent, "residual": residual, "levels": LEVELS, "total": 2}


def test_the_grid_puts_the_most_likely_row_on_top_and_counts_each_cell() -> None:
    grid = heat_grid(report(), "inherent")
    assert [row.likelihood for row in grid.rows] == [5, 4, 3, 2, 1]
    cell = grid.rows[1].cells[4]
    assert (cell.likelihood, cell.impact, cell.count, cell.band) == (4, 5, 2, "critical")
    assert grid.total == 2
    assert heat_grid(report(), "residual").rows[3].cells[2].count == 1


def test_a_cell_links_to_the_register_filtered_to_it() -> None:
    cell = heat_grid(report(), "residual").rows[3].cells[2]
    assert cell.href == ("/risk/register?likelihood=2&impact=3&rating=residual&cell_level=medium")
    back = CellFilter.of(
        {"likelihood": "2", "impact": "3", "rating": "residual", "cell_level": "medium"}
    )
    assert back is not None and back.api_params() == {"level": "medium"}
    assert back.holds({"residual": {"likelihood": 2, "impact": 3}})
    assert not back.holds({"residual": {"likelihood": 3, "impact": 2}})
    inherent = CellFilter.of(
        {"likelihood": "4", "impact": "5", "rating": "inherent", "cell_level": "critical"}
    )
    assert inherent is not None and inherent.api_params() == {"inherent_level": "critical"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"likelihood": "2"}, "go together"),
        ({"likelihood": "6", "impact": "1"}, "likelihood"),
        ({"likelihood": "1", "impact": "x"}, "impact"),
        ({"likelihood": "1", "impact": "1", "rating": "gross"}, "rating"),
        ({"likelihood": "1", "impact": "1", "cell_level": "huge"}, "cell_level"),
    ],
)
def test_a_bad_cell_filter_names_its_problem(params: dict[str, str], named: str) -> None:
    with pytest.raises(HeatMapUnreadable, match=named):
        CellFilter.of(params)


def test_a_report_without_a_five_by_five_matrix_is_unreadable() -> None:
    with pytest.raises(HeatMapUnreadable):
        heat_grid({**report(), "inherent": [[0] * 5] * 4}, "inherent")
    assert CellFilter.of({}) is None


def limit(used: float | None, state: str = "below", warning: float = 0.8) -> dict[str, Any]:
    return {
        "utilisation": used,
        "threshold_state": state,
        "current": {"warning_threshold": warning},
    }


@pytest.mark.parametrize(
    ("used", "state", "band"),
    [
        (0.5, "below", "ok"),
        (0.85, "warning", "warning"),
        (0.85, "below", "warning"),  # the read lags: the figures say warning already
        (1.05, "breached", "breached"),
        (1.2, "warning", "breached"),
    ],
)
def test_utilisation_bars_take_the_band_of_the_limit(used: float, state: str, band: str) -> None:
    bar = utilisation_bar(limit(used, state))
    assert bar is not None and bar.band == band
    assert bar.drawn == min(used, 1.0)
    assert bar.basis_points == round(used * 10_000)


def test_a_limit_without_approved_amount_has_no_bar() -> None:
    assert utilisation_bar(limit(None)) is None


def test_typed_warning_thresholds_become_shares() -> None:
    assert share_of_percent("80") == Decimal("0.8")
    assert share_of_percent("72,5 %") == Decimal("0.725")
    for wrong in ["0", "101", "abc", "80.123"]:
        with pytest.raises(ShareNotUnderstood):
            share_of_percent(wrong)


def test_the_shortfall_is_what_a_deal_lacks_of_headroom() -> None:
    checked = [
        {"limit_id": "a", "amount": 100_000, "exposure": 90_000},
        {"limit_id": "b", "amount": 500_000, "exposure": 0},
    ]
    assert shortfalls(checked, 25_000) == {"a": 15_000}


def test_the_kri_chart_runs_oldest_to_newest_and_leaves_out_stale_values() -> None:
    measurements: list[dict[str, Any]] = [  # as the API lists them: newest first
        {"value": 9.0, "measured_at": "2026-12-03T00:00:00Z", "status": "red", "current": True},
        {"value": 7.0, "measured_at": "2026-12-01T00:00:00Z", "status": "amber", "current": False},
        {"value": None, "measured_at": "2026-11-30T00:00:00Z", "status": None, "current": True},
        {"value": 2.0, "measured_at": "2026-11-29T00:00:00Z", "status": "green", "current": True},
    ]
    chart = kri_chart(measurements, amber=5.0, red=8.0)
    assert [p.value for p in chart.points] == [2.0, 9.0]
    first, last = chart.points
    assert first.x < last.x and first.y > last.y  # higher values are drawn higher
    assert last.y < chart.red_y < chart.amber_y < first.y
    assert chart.polyline == f"{first.x:.1f},{first.y:.1f} {last.x:.1f},{last.y:.1f}"
    assert all(0 <= p.y <= chart.height for p in chart.points)


def test_a_flat_kri_chart_still_has_a_range() -> None:
    chart = kri_chart([{"value": 3.0, "measured_at": "x"}], amber=3.0, red=3.0)
    assert chart.low < chart.high and len(chart.points) == 1


def test_assessments_are_the_events_that_carry_one_newest_first() -> None:
    rating = {"likelihood": 3, "impact": 4, "score": 12, "level": "high"}
    events = [
        {
            "event_type": "RiskIdentified",
            "recorded_at": "1",
            "actor": "a",
            "correlation_id": "c1",
            "data": {"assessment": {"inherent": rating, "residual": rating}},
        },
        {
            "event_type": "RiskTreatmentSet",
            "recorded_at": "2",
            "actor": "a",
            "correlation_id": "c2",
            "data": {"treatment": "mitigate", "reason": "x"},
        },
        {
            "event_type": "RiskReassessed",
            "recorded_at": "3",
            "actor": "b",
            "correlation_id": "c3",
            "data": {"assessment": {"inherent": rating, "residual": rating}, "reason": "audit"},
        },
    ]
    found = assessments_of(events)
    assert [a.event_type for a in found] == ["RiskReassessed", "RiskIdentified"]
    assert found[0].reason == "audit" and found[0].inherent["level"] == "high"
    assert event_words("RiskControlAdded") == "Risk control added"
    assert event_words("risk.RiskAcceptanceRequested") == "Risk acceptance requested"

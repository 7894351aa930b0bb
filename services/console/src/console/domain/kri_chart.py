"""A KRI's history as a small line chart, drawn on the server as SVG coordinates (no script,
no inline style: the template writes SVG attributes only).

The API lists measurements newest first; the chart runs oldest to newest, left to right.
Out-of-order measurements (``current`` false) and empty ones (no value) are left out: they
never were the KRI's value. The amber and red thresholds are drawn as lines when they fall
inside the chart's value range, which always includes them so that a reader sees how close
the values came.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 240, 64, 6


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    measured_at: str
    status: str


@dataclass(frozen=True)
class KriChart:
    points: tuple[ChartPoint, ...]
    amber_y: float
    red_y: float
    low: float
    high: float
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def latest(self) -> ChartPoint | None:
        return self.points[-1] if self.points else None


def kri_chart(
    measurements: Sequence[Mapping[str, Any]],
    amber: float,
    red: float,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> KriChart:
    """Scale the measured values (and the two thresholds) into a width x height box; the
    y axis points down in SVG, so higher values get smaller y."""
    used = [
        m
        for m in measurements
        if m.get("value") is not None and m.get("current", True) is not False
    ]
    used.sort(key=lambda m: str(m.get("measured_at", "")))
    values = [float(m["value"]) for m in used]
    low = min([*values, amber, red])
    high = max([*values, amber, red])
    if high == low:
        # A flat line (and equal thresholds) still needs a range to be drawn in the middle.
        low, high = low - 1, high + 1

    def y_of(value: float) -> float:
        return PAD + (high - value) / (high - low) * (height - 2 * PAD)

    step = (width - 2 * PAD) / (len(used) - 1) if len(used) > 1 else 0.0
    points = tuple(
        ChartPoint(
            x=PAD + index * step if len(used) > 1 else width / 2,
            y=y_of(value),
            value=value,
            measured_at=str(m.get("measured_at", "")),
            status=str(m.get("status") or "unmeasured"),
        )
        for index, (m, value) in enumerate(zip(used, values, strict=True))
    )
    return KriChart(points, y_of(amber), y_of(red), low, high, width, height)

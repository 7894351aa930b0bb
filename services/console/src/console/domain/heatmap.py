"""The risk heat map as a grid: 5 x 5 cells of likelihood (rows) x impact (columns), each with
the number of open risks in it, its level's colour band, and the register filter it opens.

The risk service answers counts and levels as ``[likelihood - 1][impact - 1]`` matrices; a
heat map is drawn with the most likely row on top, so the grid turns the rows around. The
register has no likelihood/impact filter of its own: ``CellFilter`` narrows by the cell's
level at the API and keeps the risks of exactly that cell (``holds``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

SCALE = (1, 2, 3, 4, 5)
RATINGS = ("inherent", "residual")
# Levels of the risk service's matrix, mildest first; each is a colour band of the map.
LEVELS = ("low", "medium", "high", "critical")


class HeatMapUnreadable(ValueError):
    """The report or a filter does not have the 5 x 5 shape a heat map needs."""


@dataclass(frozen=True)
class HeatCell:
    likelihood: int
    impact: int
    count: int
    level: str
    rating: str

    @property
    def band(self) -> str:
        """The CSS colour band: the level, or ``unknown`` for a level this console does not
        know (a new matrix band shows neutral rather than wrong)."""
        return self.level if self.level in LEVELS else "unknown"

    @property
    def href(self) -> str:
        """The register, filtered to the risks of this cell."""
        return "/risk/register?" + urlencode(
            {
                "likelihood": self.likelihood,
                "impact": self.impact,
                "rating": self.rating,
                "cell_level": self.level,
            }
        )


@dataclass(frozen=True)
class HeatRow:
    likelihood: int
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class HeatGrid:
    rating: str
    rows: tuple[HeatRow, ...]  # likelihood 5 (top) down to 1
    impacts: tuple[int, ...] = SCALE

    @property
    def total(self) -> int:
        return sum(cell.count for row in self.rows for cell in row.cells)


def heat_grid(report: Mapping[str, Any], rating: str) -> HeatGrid:
    """The grid of one rating (``inherent`` or ``residual``) from the heat-map report."""
    if rating not in RATINGS:
        raise HeatMapUnreadable(f"rating must be one of {', '.join(RATINGS)}")
    counts = _matrix(report.get(rating), f"{rating} counts")
    levels = _matrix(report.get("levels"), "levels")
    rows = tuple(
        HeatRow(
            likelihood,
            tuple(
                HeatCell(
                    likelihood,
                    impact,
                    int(counts[likelihood - 1][impact - 1]),
                    str(levels[likelihood - 1][impact - 1]),
                    rating,
                )
                for impact in SCALE
            ),
        )
        for likelihood in reversed(SCALE)
    )
    return HeatGrid(rating, rows)


def _matrix(value: Any, what: str) -> Sequence[Sequence[Any]]:
    if (
        not isinstance(value, list)
        or len(value) != len(SCALE)
        or any(not isinstance(row, list) or len(row) != len(SCALE) for row in value)
    ):
        raise HeatMapUnreadable(f"the heat map's {what} are not a 5 x 5 matrix")
    return value


@dataclass(frozen=True)
class CellFilter:
    """One heat-map cell as a register filter."""

    likelihood: int
    impact: int
    rating: str
    level: str | None = None

    @classmethod
    def of(cls, params: Mapping[str, str]) -> CellFilter | None:
        """The cell a register query names, None when it names none; a half or wrong one
        raises ``HeatMapUnreadable`` naming the parameter."""
        named = [key for key in ("likelihood", "impact") if params.get(key)]
        if not named:
            return None
        if len(named) == 1:
            raise HeatMapUnreadable("likelihood and impact go together (a heat-map cell)")
        rating = params.get("rating") or "residual"
        if rating not in RATINGS:
            raise HeatMapUnreadable(f"rating must be one of {', '.join(RATINGS)}")
        level = params.get("cell_level") or None
        if level is not None and level not in LEVELS:
            raise HeatMapUnreadable(f"cell_level must be one of {', '.join(LEVELS)}")
        return cls(_rating(params, "likelihood"), _rating(params, "impact"), rating, level)

    def api_params(self) -> dict[str, str]:
        """What the register API can filter itself: the cell's level on the same rating."""
        if self.level is None:
            return {}
        return {"level" if self.rating == "residual" else "inherent_level": self.level}

    def holds(self, risk: Mapping[str, Any]) -> bool:
        rated = risk.get(self.rating) or {}
        return bool(
            rated.get("likelihood") == self.likelihood and rated.get("impact") == self.impact
        )


def _rating(params: Mapping[str, str], key: str) -> int:
    text = params.get(key, "")
    if not text.isdigit() or int(text) not in SCALE:
        raise HeatMapUnreadable(f"{key} must be a whole number from 1 to 5")
    return int(text)

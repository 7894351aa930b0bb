"""Scoring of risks on a configurable 5 x 5 matrix, residual scores after controls, and
review dates by level. Pure functions and value objects: no clock, no I/O.

- **Inherent score**: ``matrix[likelihood][impact]`` (default ``likelihood * impact``, 1..25),
  mapped to a level by score bands (default: 1-4 low, 5-9 medium, 10-14 high, 15-25 critical).
- **Residual score** (the rule): a control reduces either the likelihood (it prevents or
  detects) or the impact (it corrects or limits the damage) by a number of steps given by its
  effectiveness: none 0, weak 1, moderate 2, strong 3, very strong 4. Per axis only the
  *strongest* control counts (controls on the same axis overlap, so summing them would
  overstate the reduction), and an axis never falls below 1. The residual score is the matrix
  score of the reduced likelihood and impact, with the same bands.
- **Review date**: the last review (or the identification) plus the interval of the risk's
  residual level (default: critical 30 days, high 90, medium 180, low 365): what the risk
  still is after its controls decides how soon it must be looked at again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from shared_kernel.errors import DomainError

SCALE = range(1, 6)


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Effectiveness(StrEnum):
    NONE = "none"
    WEAK = "weak"
    MODERATE = "moderate"
    STRONG = "strong"
    VERY_STRONG = "very_strong"

    @property
    def steps(self) -> int:
        """How many steps of the scale a control of this effectiveness takes off its axis."""
        return list(Effectiveness).index(self)


class Reduces(StrEnum):
    """The axis a control works on."""

    LIKELIHOOD = "likelihood"
    IMPACT = "impact"


DEFAULT_LEVEL_FLOORS: Mapping[Level, int] = {Level.MEDIUM: 5, Level.HIGH: 10, Level.CRITICAL: 15}
DEFAULT_REVIEW_DAYS: Mapping[Level, int] = {
    Level.CRITICAL: 30,
    Level.HIGH: 90,
    Level.MEDIUM: 180,
    Level.LOW: 365,
}


def check_rating(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
        raise DomainError(
            f"{name} must be an integer from 1 to 5", field=name, code="InvalidRating"
        )
    return value


@dataclass(frozen=True)
class Rating:
    """A likelihood x impact pair, its score and level."""

    likelihood: int
    impact: int
    score: int
    level: Level


@dataclass(frozen=True)
class ControlEffect:
    """What the residual rule needs of a control."""

    effectiveness: Effectiveness
    reduces: Reduces


@dataclass(frozen=True)
class ScoringMatrix:
    """The 5 x 5 matrix and the level bands.

    ``scores`` (5 rows of 5, row = likelihood 1..5, column = impact 1..5) overrides the
    default ``likelihood * impact``; ``level_floors`` gives the lowest score of each level
    above low and must rise with the level."""

    scores: tuple[tuple[int, ...], ...] | None = None
    level_floors: Mapping[Level, int] = field(default_factory=lambda: dict(DEFAULT_LEVEL_FLOORS))

    def __post_init__(self) -> None:
        if self.scores is not None and (
            len(self.scores) != 5 or any(len(row) != 5 for row in self.scores)
        ):
            raise ValueError("a scoring matrix has 5 rows of 5 scores")
        floors = [self.level_floors[level] for level in (Level.MEDIUM, Level.HIGH, Level.CRITICAL)]
        if not (1 < floors[0] < floors[1] < floors[2]):
            raise ValueError("level floors must rise: 1 < medium < high < critical")

    def score(self, likelihood: int, impact: int) -> int:
        check_rating(likelihood, "likelihood")
        check_rating(impact, "impact")
        if self.scores is None:
            return likelihood * impact
        return self.scores[likelihood - 1][impact - 1]

    def level(self, score: int) -> Level:
        for level in (Level.CRITICAL, Level.HIGH, Level.MEDIUM):
            if score >= self.level_floors[level]:
                return level
        return Level.LOW

    def rate(self, likelihood: int, impact: int) -> Rating:
        score = self.score(likelihood, impact)
        return Rating(likelihood, impact, score, self.level(score))

    def residual(self, inherent: Rating, controls: Iterable[ControlEffect]) -> Rating:
        """The rating after controls (see the module docstring for the rule)."""
        strongest = {Reduces.LIKELIHOOD: 0, Reduces.IMPACT: 0}
        for control in controls:
            strongest[control.reduces] = max(
                strongest[control.reduces], control.effectiveness.steps
            )
        return self.rate(
            max(1, inherent.likelihood - strongest[Reduces.LIKELIHOOD]),
            max(1, inherent.impact - strongest[Reduces.IMPACT]),
        )


@dataclass(frozen=True)
class ReviewPolicy:
    """How many days may pass between two reviews of a risk of each level."""

    days: Mapping[Level, int] = field(default_factory=lambda: dict(DEFAULT_REVIEW_DAYS))

    def __post_init__(self) -> None:
        if any(self.days.get(level, 0) <= 0 for level in Level):
            raise ValueError("every level needs a review interval of at least one day")

    def interval(self, level: Level) -> timedelta:
        return timedelta(days=self.days[level])

    def next_review(self, last_review: date, level: Level) -> date:
        return last_review + self.interval(level)

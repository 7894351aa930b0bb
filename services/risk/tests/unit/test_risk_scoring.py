"""Scoring: the 5 x 5 matrix, levels by bands, the residual rule and review dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from risk.domain.scoring import (
    ControlEffect,
    Effectiveness,
    Level,
    Reduces,
    ReviewPolicy,
    ScoringMatrix,
)
from shared_kernel.errors import DomainError

pytestmark = pytest.mark.unit

MATRIX = ScoringMatrix()


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "level"),
    [
        (1, 1, 1, Level.LOW),
        (2, 2, 4, Level.LOW),
        (1, 5, 5, Level.MEDIUM),
        (3, 3, 9, Level.MEDIUM),
        (2, 5, 10, Level.HIGH),
        (3, 4, 12, Level.HIGH),
        (5, 3, 15, Level.CRITICAL),
        (5, 5, 25, Level.CRITICAL),
    ],
)
def test_default_score_is_likelihood_times_impact_with_level_bands(
    likelihood: int, impact: int, score: int, level: Level
) -> None:
    rating = MATRIX.rate(likelihood, impact)

    assert (rating.score, rating.level) == (score, level)


@pytest.mark.parametrize(("likelihood", "impact"), [(0, 3), (6, 3), (3, 0), (3, 6)])
def test_ratings_outside_one_to_five_are_refused_naming_the_field(
    likelihood: int, impact: int
) -> None:
    with pytest.raises(DomainError) as refused:
        MATRIX.rate(likelihood, impact)

    assert refused.value.field == ("likelihood" if likelihood not in range(1, 6) else "impact")


def test_a_configured_matrix_and_bands_replace_the_defaults() -> None:
    # A matrix that weighs impact more heavily than likelihood.
    scores = tuple(tuple(li + 2 * im for im in range(1, 6)) for li in range(1, 6))
    matrix = ScoringMatrix(
        scores=scores, level_floors={Level.MEDIUM: 6, Level.HIGH: 9, Level.CRITICAL: 13}
    )

    assert matrix.rate(1, 5).score == 11
    assert matrix.rate(1, 5).level is Level.HIGH
    assert matrix.rate(5, 1).level is Level.MEDIUM
    assert matrix.rate(5, 5).level is Level.CRITICAL
    assert matrix.rate(1, 1).level is Level.LOW


def test_bands_that_do_not_rise_are_refused() -> None:
    with pytest.raises(ValueError, match="rise"):
        ScoringMatrix(level_floors={Level.MEDIUM: 10, Level.HIGH: 5, Level.CRITICAL: 15})


def test_a_matrix_must_be_five_by_five() -> None:
    with pytest.raises(ValueError, match="5 rows"):
        ScoringMatrix(scores=((1, 2, 3),))


def test_residual_takes_the_strongest_control_per_axis_not_the_sum() -> None:
    inherent = MATRIX.rate(5, 4)
    controls = [
        ControlEffect(Effectiveness.WEAK, Reduces.LIKELIHOOD),
        ControlEffect(Effectiveness.MODERATE, Reduces.LIKELIHOOD),
        ControlEffect(Effectiveness.WEAK, Reduces.IMPACT),
    ]

    residual = MATRIX.residual(inherent, controls)

    assert (residual.likelihood, residual.impact) == (3, 3)
    assert (residual.score, residual.level) == (9, Level.MEDIUM)


def test_residual_never_falls_below_one() -> None:
    residual = MATRIX.residual(
        MATRIX.rate(2, 2), [ControlEffect(Effectiveness.VERY_STRONG, Reduces.LIKELIHOOD)]
    )

    assert (residual.likelihood, residual.impact, residual.score) == (1, 2, 2)


def test_without_effective_controls_residual_equals_inherent() -> None:
    inherent = MATRIX.rate(4, 4)

    assert MATRIX.residual(inherent, []) == inherent
    assert (
        MATRIX.residual(inherent, [ControlEffect(Effectiveness.NONE, Reduces.IMPACT)]) == inherent
    )


@pytest.mark.parametrize(
    ("effectiveness", "steps"),
    [
        (Effectiveness.NONE, 0),
        (Effectiveness.WEAK, 1),
        (Effectiveness.MODERATE, 2),
        (Effectiveness.STRONG, 3),
        (Effectiveness.VERY_STRONG, 4),
    ],
)
def test_effectiveness_takes_steps_off_its_axis(effectiveness: Effectiveness, steps: int) -> None:
    residual = MATRIX.residual(MATRIX.rate(5, 5), [ControlEffect(effectiveness, Reduces.IMPACT)])

    assert (residual.likelihood, residual.impact) == (5, 5 - steps)


@pytest.mark.parametrize(
    ("level", "due"),
    [
        (Level.CRITICAL, date(2026, 3, 31)),
        (Level.HIGH, date(2026, 5, 30)),
        (Level.MEDIUM, date(2026, 8, 28)),
        (Level.LOW, date(2027, 3, 1)),
    ],
)
def test_review_date_is_last_review_plus_the_interval_of_the_level(level: Level, due: date) -> None:
    assert ReviewPolicy().next_review(date(2026, 3, 1), level) == due


def test_review_intervals_are_configurable_and_must_be_positive() -> None:
    policy = ReviewPolicy(days={Level.CRITICAL: 7, Level.HIGH: 14, Level.MEDIUM: 28, Level.LOW: 56})

    assert policy.next_review(date(2026, 3, 1), Level.CRITICAL) == date(2026, 3, 8)
    with pytest.raises(ValueError, match="interval"):
        ReviewPolicy(days={Level.CRITICAL: 0, Level.HIGH: 1, Level.MEDIUM: 1, Level.LOW: 1})


ratings = st.integers(min_value=1, max_value=5)
effects = st.lists(
    st.builds(ControlEffect, st.sampled_from(Effectiveness), st.sampled_from(Reduces)),
    max_size=6,
)


@given(ratings, ratings, effects, st.sampled_from(Effectiveness), st.sampled_from(Reduces))
def test_controls_never_raise_a_rating_and_more_control_never_hurts(
    likelihood: int,
    impact: int,
    controls: list[ControlEffect],
    extra: Effectiveness,
    axis: Reduces,
) -> None:
    inherent = MATRIX.rate(likelihood, impact)

    residual = MATRIX.residual(inherent, controls)
    with_extra = MATRIX.residual(inherent, [*controls, ControlEffect(extra, axis)])

    assert residual.score <= inherent.score
    assert residual.likelihood <= likelihood and residual.impact <= impact
    assert with_extra.score <= residual.score
    assert list(Level).index(with_extra.level) <= list(Level).index(residual.level)
    assert MATRIX.residual(inherent, list(reversed(controls))) == residual

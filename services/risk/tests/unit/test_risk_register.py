"""The risk aggregate: every change one event, ratings and review dates follow the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from risk.domain.register import (
    Action,
    Control,
    RegisteredRisk,
    RegisterRules,
    RiskDetails,
    Treatment,
)
from risk.domain.register_events import (
    RiskActionCompleted,
    RiskClosed,
    RiskControlAdded,
    RiskIdentified,
    RiskReassessed,
    RiskReviewed,
)
from risk.domain.scoring import Effectiveness, Level, Reduces
from shared_kernel.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.unit

RULES = RegisterRules()
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DETAILS = RiskDetails("Counterparty default", "A large counterparty fails", "credit", "user:olga")


def identified(likelihood: int = 3, impact: int = 4) -> RegisteredRisk:
    risk = RegisteredRisk.identify("r1", DETAILS, likelihood, impact, RULES, by="user:anna", at=T0)
    return saved(risk)


def saved(risk: RegisteredRisk) -> RegisteredRisk:
    """As the unit of work leaves it: replayed from its events (checks _apply too)."""
    return RegisteredRisk.load(risk.id, risk.pending_events())


def control(control_id: str, effectiveness: Effectiveness, reduces: Reduces) -> Control:
    return Control(control_id, "Collateral", "", effectiveness, reduces)


def test_identifying_rates_the_risk_and_sets_the_first_review_by_level() -> None:
    risk = RegisteredRisk.identify("r1", DETAILS, 3, 4, RULES, by="user:anna", at=T0)

    [event] = risk.pending_events()
    assert isinstance(event, RiskIdentified)
    assert (event.assessment.inherent.score, event.assessment.inherent.level) == (12, Level.HIGH)
    assert event.assessment.residual == event.assessment.inherent
    assert event.review_due == date(2026, 5, 30)  # high: 90 days
    assert event.by == "user:anna"


@pytest.mark.parametrize(
    ("field", "details"),
    [
        ("title", RiskDetails("  ", "", "credit", "user:olga")),
        ("owner", RiskDetails("Title", "", "credit", "")),
        ("category", RiskDetails("Title", "", "weather", "user:olga")),
    ],
)
def test_identifying_refuses_incomplete_details_naming_the_field(
    field: str, details: RiskDetails
) -> None:
    with pytest.raises(DomainError) as refused:
        RegisteredRisk.identify("r1", details, 3, 3, RULES, by="user:anna", at=T0)

    assert refused.value.field == field


def test_a_control_lowers_the_residual_rating_and_may_move_the_review_later() -> None:
    risk = identified(4, 4)  # 16 critical: review in 30 days

    risk.add_control(
        control("control-2", Effectiveness.STRONG, Reduces.LIKELIHOOD),
        "collateral agreement",
        RULES,
        by="user:anna",
        at=T0 + timedelta(days=3),
    )

    [event] = risk.pending_events()
    assert isinstance(event, RiskControlAdded)
    assert event.assessment.inherent.score == 16
    assert (event.assessment.residual.likelihood, event.assessment.residual.impact) == (1, 4)
    assert event.assessment.residual.level is Level.LOW
    # Counted from the last review (the identification), at the interval of the new level.
    assert event.review_due == date(2026, 3, 1) + timedelta(days=365)


def test_removing_the_only_control_restores_the_inherent_rating() -> None:
    risk = identified(4, 4)
    risk.add_control(
        control("control-2", Effectiveness.MODERATE, Reduces.IMPACT), "", RULES, by="u", at=T0
    )
    risk = saved_all(risk)

    risk.remove_control("control-2", "contract ended", RULES, by="u", at=T0)

    assert risk.assessment is not None
    assert risk.assessment.residual == risk.assessment.inherent
    assert risk.controls == {}


def saved_all(risk: RegisteredRisk) -> RegisteredRisk:
    risk.mark_saved()
    return risk


def test_changing_a_control_recomputes_the_residual_rating() -> None:
    risk = identified(5, 5)
    risk.add_control(
        control("control-2", Effectiveness.WEAK, Reduces.IMPACT), "", RULES, by="u", at=T0
    )
    risk.change_control(
        control("control-2", Effectiveness.VERY_STRONG, Reduces.IMPACT),
        "tested in the drill",
        RULES,
        by="u",
        at=T0,
    )

    assert risk.assessment is not None
    assert (risk.assessment.residual.likelihood, risk.assessment.residual.impact) == (5, 1)


def test_unknown_control_is_not_found() -> None:
    risk = identified()

    with pytest.raises(NotFound):
        risk.remove_control("control-9", "gone", RULES, by="u", at=T0)


def test_reassessment_is_a_review_and_moves_the_review_date_from_its_day() -> None:
    risk = identified(2, 2)  # low: review in 365 days
    later = T0 + timedelta(days=40)

    risk.reassess(5, 4, "market moved", RULES, by="user:anna", at=later)

    [event] = risk.pending_events()
    assert isinstance(event, RiskReassessed)
    assert event.assessment.inherent.level is Level.CRITICAL
    assert event.review_due == later.date() + timedelta(days=30)
    assert event.reason == "market moved"


def test_reassessment_needs_a_reason() -> None:
    risk = identified()

    with pytest.raises(DomainError) as refused:
        risk.reassess(2, 2, " ", RULES, by="u", at=T0)

    assert refused.value.field == "reason"


def test_a_review_sets_the_next_due_date_by_the_residual_level() -> None:
    risk = identified(3, 4)  # high
    when = T0 + timedelta(days=80)

    risk.record_review("still relevant", RULES, by="user:anna", at=when)

    [event] = risk.pending_events()
    assert isinstance(event, RiskReviewed)
    assert event.review_due == when.date() + timedelta(days=90)


def test_actions_are_planned_and_completed_once() -> None:
    risk = identified()
    risk.plan_action(
        Action("action-2", "Negotiate collateral", "user:olga", date(2026, 4, 1)),
        "",
        by="u",
        at=T0,
    )
    risk.complete_action("action-2", "signed", by="user:olga", at=T0)

    assert isinstance(risk.pending_events()[-1], RiskActionCompleted)
    assert risk.actions["action-2"].done
    with pytest.raises(Conflict):
        risk.complete_action("action-2", "again", by="user:olga", at=T0)
    with pytest.raises(NotFound):
        risk.complete_action("action-7", "", by="user:olga", at=T0)


def test_an_open_action_can_be_rescheduled_a_completed_one_not() -> None:
    risk = identified()
    risk.plan_action(Action("action-2", "Drill", "user:olga", date(2026, 4, 1)), "", by="u", at=T0)

    risk.change_action(
        Action("action-2", "Drill", "user:paul", date(2026, 5, 1)), "olga on leave", by="u", at=T0
    )

    assert risk.actions["action-2"] == Action("action-2", "Drill", "user:paul", date(2026, 5, 1))
    risk.complete_action("action-2", "", by="user:paul", at=T0)
    with pytest.raises(Conflict) as refused:
        risk.change_action(
            Action("action-2", "Drill", "user:paul", date(2026, 6, 1)), "later", by="u", at=T0
        )
    assert refused.value.code == "ActionCompleted"


def test_a_closed_risk_takes_no_further_changes() -> None:
    risk = identified()
    risk.close("business line sold", by="user:anna", at=T0)

    assert isinstance(risk.pending_events()[-1], RiskClosed)
    with pytest.raises(Conflict) as refused:
        risk.set_treatment(Treatment.AVOID, "too late", by="u", at=T0)
    assert refused.value.code == "RiskClosed"


def test_state_after_replay_equals_state_after_the_commands() -> None:
    risk = RegisteredRisk.identify("r1", DETAILS, 4, 3, RULES, by="user:anna", at=T0)
    risk.add_control(
        control("control-2", Effectiveness.STRONG, Reduces.IMPACT), "", RULES, by="u", at=T0
    )
    risk.set_treatment(Treatment.MITIGATE, "plan", by="u", at=T0)
    risk.record_review("ok", RULES, by="u", at=T0 + timedelta(days=1))

    replayed = RegisteredRisk.load(risk.id, risk.pending_events())

    assert replayed.version == 4
    assert replayed.assessment == risk.assessment
    # 4 x 3 less three steps of impact: 4 x 1, low: a year after the last review.
    assert replayed.review_due == risk.review_due == date(2027, 3, 2)
    assert replayed.treatment is Treatment.MITIGATE
    assert replayed.controls == risk.controls

"""Risk acceptance in the domain: four-eyes approval, one open acceptance, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from risk.domain.acceptance import AcceptanceStatus, expiry_instant
from risk.domain.register import RegisteredRisk, RegisterRules, RiskDetails, Treatment
from risk.domain.register_events import RiskAcceptanceApproved, RiskAcceptanceExpired
from shared_kernel.errors import Conflict, DomainError, PermissionDenied
from shared_kernel.identity import Caller

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
UNTIL = date(2026, 6, 30)
REQUESTER = "user:anna"
RULES = RegisterRules()
SECOND = Caller("user:bert", frozenset({"risk-officer"}), "back")


def risk_with_request() -> RegisteredRisk:
    details = RiskDetails("Legacy FX system", "", "it", "user:olga")
    risk = RegisteredRisk.identify("r1", details, 2, 3, RegisterRules(), by=REQUESTER, at=T0)
    risk.set_treatment(Treatment.ACCEPT, "cost of fixing exceeds exposure", by=REQUESTER, at=T0)
    risk.request_acceptance("acceptance-3", "retired next year", UNTIL, RULES, by=REQUESTER, at=T0)
    risk.mark_saved()
    return risk


def test_a_second_back_office_risk_officer_approves() -> None:
    risk = risk_with_request()

    risk.approve_acceptance("acceptance-3", SECOND, "agreed", at=T0 + timedelta(hours=1))

    [event] = risk.pending_events()
    assert isinstance(event, RiskAcceptanceApproved)
    assert event.by == "user:bert"
    assert risk.acceptance is not None and risk.acceptance.status is AcceptanceStatus.APPROVED


@pytest.mark.parametrize(
    ("approver", "code"),
    [
        (
            Caller(REQUESTER, frozenset({"risk-officer"}), "back"),
            "FourEyesViolation",
        ),
        (
            Caller("user:tom", frozenset({"risk-officer"}), "front"),
            "BackOfficeRequired",
        ),
        (
            Caller("user:carl", frozenset({"controller"}), "back"),
            "ApproverRoleRequired",
        ),
    ],
)
def test_approval_is_refused_for_requester_front_office_and_other_roles(
    approver: Caller, code: str
) -> None:
    risk = risk_with_request()

    with pytest.raises(PermissionDenied) as refused:
        risk.approve_acceptance("acceptance-3", approver, "", at=T0)

    assert refused.value.code == code
    assert risk.pending_events() == []


def test_only_a_risk_treated_by_acceptance_can_be_accepted() -> None:
    details = RiskDetails("Legacy FX system", "", "it", "user:olga")
    risk = RegisteredRisk.identify("r1", details, 2, 3, RegisterRules(), by=REQUESTER, at=T0)

    with pytest.raises(Conflict) as refused:
        risk.request_acceptance("acceptance-2", "why not", UNTIL, RULES, by=REQUESTER, at=T0)

    assert refused.value.code == "TreatmentNotAccept"


def test_one_open_acceptance_at_a_time_and_no_end_date_in_the_past() -> None:
    risk = risk_with_request()

    with pytest.raises(Conflict):
        risk.request_acceptance("acceptance-4", "again", UNTIL, RULES, by=REQUESTER, at=T0)
    risk.reject_acceptance("acceptance-3", "not convincing", by="user:bert", at=T0)
    with pytest.raises(DomainError) as refused:
        risk.request_acceptance(
            "acceptance-5", "again", date(2026, 2, 28), RULES, by=REQUESTER, at=T0
        )
    assert refused.value.field == "until"


def test_a_decided_acceptance_cannot_be_decided_again() -> None:
    risk = risk_with_request()
    risk.approve_acceptance("acceptance-3", SECOND, "", at=T0)

    with pytest.raises(Conflict) as refused:
        risk.reject_acceptance("acceptance-3", "changed my mind", by="user:bert", at=T0)

    assert refused.value.code == "AcceptanceNotPending"


def test_an_acceptance_covers_its_last_day_and_expires_at_the_next_midnight_utc() -> None:
    risk = risk_with_request()
    risk.approve_acceptance("acceptance-3", SECOND, "", at=T0)
    last_moment = expiry_instant(UNTIL) - timedelta(microseconds=1)

    with pytest.raises(Conflict) as early:
        risk.expire_acceptance("acceptance-3", by="system:x", at=last_moment)
    risk.expire_acceptance("acceptance-3", by="system:x", at=expiry_instant(UNTIL))

    assert early.value.code == "AcceptanceNotDue"
    event = risk.pending_events()[-1]
    assert isinstance(event, RiskAcceptanceExpired)
    # The review was due by the acceptance's last day: overdue at once.
    assert event.review_due == UNTIL
    assert risk.review_due == UNTIL


def test_an_acceptance_expires_only_once() -> None:
    risk = risk_with_request()
    risk.approve_acceptance("acceptance-3", SECOND, "", at=T0)
    risk.expire_acceptance("acceptance-3", by="system:x", at=expiry_instant(UNTIL))

    with pytest.raises(Conflict):
        risk.expire_acceptance("acceptance-3", by="system:x", at=expiry_instant(UNTIL))


def test_an_acceptance_past_its_end_cannot_be_approved() -> None:
    risk = risk_with_request()

    with pytest.raises(Conflict) as refused:
        risk.approve_acceptance("acceptance-3", SECOND, "", at=expiry_instant(UNTIL))

    assert refused.value.code == "AcceptanceOver"


def test_treatment_cannot_change_while_an_acceptance_is_open() -> None:
    risk = risk_with_request()

    with pytest.raises(Conflict) as refused:
        risk.set_treatment(Treatment.MITIGATE, "new plan", by=REQUESTER, at=T0)

    assert refused.value.code == "AcceptanceOpen"


def test_an_acceptance_runs_at_most_the_configured_number_of_days() -> None:
    details = RiskDetails("Legacy FX system", "", "it", "user:olga")
    rules = RegisterRules(acceptance_max_days=90)
    risk = RegisteredRisk.identify("r1", details, 2, 3, rules, by=REQUESTER, at=T0)
    risk.set_treatment(Treatment.ACCEPT, "for a while", by=REQUESTER, at=T0)

    for too_long in (date(2026, 5, 31), date.max):
        with pytest.raises(DomainError) as refused:
            risk.request_acceptance("acceptance-3", "long", too_long, rules, by=REQUESTER, at=T0)
        assert (refused.value.field, refused.value.code) == ("until", "AcceptanceTooLong")
    risk.request_acceptance(
        "acceptance-3", "90 days", date(2026, 5, 30), rules, by=REQUESTER, at=T0
    )

    assert risk.acceptance is not None and risk.acceptance.until == date(2026, 5, 30)
    assert expiry_instant(date.max).year == 9999  # no overflow at the end of the calendar


def test_a_closed_risk_keeps_its_acceptance_as_it_was() -> None:
    risk = risk_with_request()
    risk.approve_acceptance("acceptance-3", SECOND, "", at=T0)
    risk.close("system retired early", by=REQUESTER, at=T0)

    with pytest.raises(Conflict) as refused:
        risk.expire_acceptance("acceptance-3", by="system:x", at=expiry_instant(UNTIL))

    assert refused.value.code == "RiskClosed"

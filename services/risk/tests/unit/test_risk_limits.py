"""Limits in the domain: requests, four-eyes approval, versions, validity, scope rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from risk.domain.limits import Dimension, Limit, LimitScope, LimitTerms
from risk.domain.limits_events import LimitChangeApproved, LimitChangeRejected
from shared_kernel.errors import Conflict, DomainError, PermissionDenied
from shared_kernel.identity import Caller

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ANNA = "user:anna"
BERT = Caller("user:bert", frozenset({"risk-officer"}), "back")
ACME = LimitScope(Dimension.COUNTERPARTY, "ACME", None, "EUR")


def requested(amount: int = 100_000_00) -> Limit:
    limit = Limit.request_creation(
        "l1", "rq1", ACME, LimitTerms(amount, T0), reason="new client", requested_by=ANNA, at=T0
    )
    limit.mark_saved()
    return limit


def test_a_requested_limit_is_not_active_until_a_second_person_approves() -> None:
    limit = requested()
    assert not limit.is_active(T0)
    version = limit.approve(BERT, T0)
    assert version.version == 1 and version.approved_by == BERT.subject
    assert limit.is_active(T0)
    [event] = limit.pending_events()
    assert isinstance(event, LimitChangeApproved) and event.requested_by == ANNA


@pytest.mark.parametrize(
    ("approver", "code"),
    [
        (Caller(ANNA, frozenset({"risk-officer"}), "back"), "FourEyesViolation"),
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
def test_approval_refused_for_the_requester_front_office_and_other_roles(
    approver: Caller, code: str
) -> None:
    limit = requested()
    with pytest.raises(PermissionDenied) as refused:
        limit.approve(approver, T0)
    assert refused.value.code == code
    assert limit.pending_events() == [] and limit.pending is not None


def test_changes_keep_every_version_and_the_requester_of_a_change_cannot_approve_it() -> None:
    limit = requested()
    limit.approve(BERT, T0)
    limit.request_change(
        "rq2", LimitTerms(50_000_00, T0), reason="cut", requested_by=BERT.subject, at=T0
    )
    with pytest.raises(PermissionDenied):
        limit.approve(BERT, T0)
    limit.approve(Caller(ANNA, frozenset({"risk-officer"}), "back"), T0)
    assert [(v.version, v.terms.amount) for v in limit.versions] == [
        (1, 100_000_00),
        (2, 50_000_00),
    ]


def test_one_pending_request_at_a_time_and_nothing_to_approve_without_one() -> None:
    limit = requested()
    with pytest.raises(Conflict):
        limit.request_change("rq2", LimitTerms(1, T0), reason="", requested_by=ANNA, at=T0)
    limit.approve(BERT, T0)
    with pytest.raises(Conflict):
        limit.approve(BERT, T0)


def test_the_requester_may_withdraw_others_need_the_role() -> None:
    limit = requested()
    with pytest.raises(PermissionDenied):
        limit.reject(Caller("user:carl", frozenset({"controller"}), "back"), "no", T0)
    limit.reject(Caller(ANNA, frozenset({"risk-officer"}), "back"), "typo", T0)
    assert isinstance(limit.pending_events()[-1], LimitChangeRejected)
    assert limit.pending is None and limit.current is None


def test_validity_period() -> None:
    limit = Limit.request_creation(
        "l2",
        "rq1",
        ACME,
        LimitTerms(100, T0, T0 + timedelta(days=30)),
        reason="",
        requested_by=ANNA,
        at=T0,
    )
    limit.approve(BERT, T0)
    assert not limit.is_active(T0 - timedelta(seconds=1))
    assert limit.is_active(T0 + timedelta(days=29))
    assert not limit.is_active(T0 + timedelta(days=30))


@pytest.mark.parametrize(
    ("scope", "terms", "field"),
    [
        (LimitScope(Dimension.COUNTERPARTY, None, None, "EUR"), LimitTerms(1, T0), "counterparty"),
        (LimitScope(Dimension.COUNTERPARTY, "A", "FX", "EUR"), LimitTerms(1, T0), "desk"),
        (LimitScope(Dimension.COUNTERPARTY_DESK, "A", " ", "EUR"), LimitTerms(1, T0), "desk"),
        (LimitScope(Dimension.DESK, None, "FX", "eur"), LimitTerms(1, T0), "currency"),
        (ACME, LimitTerms(0, T0), "amount"),
        (ACME, LimitTerms(1, T0, T0), "valid_to"),
        (ACME, LimitTerms(1, T0, None, 0), "warning_threshold"),
        (ACME, LimitTerms(1, T0, None, 10_001), "warning_threshold"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(
    scope: LimitScope, terms: LimitTerms, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        Limit.request_creation("l3", "rq", scope, terms, reason="", requested_by=ANNA, at=T0)
    assert refused.value.field == field

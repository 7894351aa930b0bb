"""The shared four-eyes rule refuses self-approval, front-office approvers and missing roles."""

from __future__ import annotations

import pytest
from shared_kernel.errors import PermissionDenied
from shared_kernel.four_eyes import Approver, ensure_four_eyes

pytestmark = pytest.mark.unit

CONTROLLER = Approver("carla", "back", frozenset({"controller"}))


def test_a_second_back_office_person_may_approve() -> None:
    ensure_four_eyes("tom", CONTROLLER, what="booking request")


def test_the_requester_may_not_approve_their_own_request() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("carla", CONTROLLER, what="booking request")
    assert refused.value.code == "FourEyesViolation"
    assert "carla" in refused.value.detail


def test_a_front_office_approver_is_refused() -> None:
    trader = Approver("tina", "front", frozenset({"trader"}))
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", trader, what="limit change")
    assert refused.value.code == "BackOfficeRequired"


def test_an_approver_without_a_named_role_is_refused() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", CONTROLLER, what="risk acceptance", approver_roles={"risk-officer"})
    assert refused.value.code == "ApproverRoleRequired"

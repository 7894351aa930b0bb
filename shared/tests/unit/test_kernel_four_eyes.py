"""The shared four-eyes rule decides on the Caller: it refuses systems, self-approval,
approvers outside the back office and missing roles."""

from __future__ import annotations

import pytest
from shared_kernel.errors import PermissionDenied
from shared_kernel.four_eyes import ensure_four_eyes
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Office, Role
from shared_kernel.unit_of_work import CommandContext, approver_of
from shared_kernel.web import command_context
from starlette.requests import Request

pytestmark = pytest.mark.unit

CONTROLLER = Caller("carla", {Role.CONTROLLER}, Office.BACK, "rid-1")


def refusal(requested_by: str, approver: Caller, roles: set[Role] | None = None) -> str:
    """The code of the four-eyes refusal (the test fails when there is none)."""
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes(requested_by, approver, what="booking request", approver_roles=roles)
    return refused.value.code


def test_a_second_back_office_person_may_approve() -> None:
    ensure_four_eyes("tom", CONTROLLER, what="booking request", approver_roles={Role.CONTROLLER})


def test_the_requester_may_not_approve_their_own_request() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("carla", CONTROLLER, what="booking request")
    assert refused.value.code == "FourEyesViolation"
    assert "carla" in refused.value.detail


@pytest.mark.parametrize("office", [Office.FRONT, Office.OVERSIGHT, Office.SYSTEM])
def test_an_approver_outside_the_back_office_is_refused(office: Office) -> None:
    approver = Caller("tina", {Role.RISK_OFFICER}, office)

    assert refusal("tom", approver, {Role.RISK_OFFICER}) == "BackOfficeRequired"


def test_an_approver_without_a_named_role_is_refused() -> None:
    assert refusal("tom", CONTROLLER, {Role.RISK_OFFICER}) == "ApproverRoleRequired"


def test_a_system_may_not_approve_even_with_the_right_office_and_role() -> None:
    robot = Caller("trading-bot", {Role.CONTROLLER}, Office.BACK, kind=CallerKind.SYSTEM)
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", robot, what="booking request", approver_roles={Role.CONTROLLER})
    assert refused.value.code == "PersonRequired"
    assert "trading-bot" in refused.value.detail and "person" in refused.value.detail


def test_a_service_doing_its_own_work_may_not_approve() -> None:
    assert refusal("tom", Caller.system("ledger-expiry")) == "PersonRequired"


@pytest.mark.parametrize(
    ("kind", "person"), [(CallerKind.PERSON, True), (CallerKind.SYSTEM, False)]
)
def test_the_approver_of_a_request_is_its_signed_caller(kind: CallerKind, person: bool) -> None:
    caller = Caller("carla", {Role.CONTROLLER}, Office.BACK, "rid-1", kind)
    request = Request({"type": "http", "method": "POST", "path": "/v1/x", "headers": []})

    context = command_context(caller, request, None, None)

    assert approver_of(context) == caller and context.is_person is person
    assert context.correlation_id == "rid-1" and context.roles == {Role.CONTROLLER}


def test_a_context_of_the_services_own_work_is_a_system_without_roles() -> None:
    context = CommandContext.system("sweeper", causation_id="expiry:r-1")

    assert not context.is_person and context.roles == frozenset()
    assert context.kind is CallerKind.SYSTEM and context.caller == Caller.system("sweeper")
    assert context.metadata().causation_id == "expiry:r-1"

"""The shared four-eyes rule refuses systems, self-approval, front-office approvers and missing
roles."""

from __future__ import annotations

import pytest
from shared_kernel.envelope import Actor
from shared_kernel.errors import PermissionDenied
from shared_kernel.four_eyes import Approver, ensure_four_eyes
from shared_kernel.identity import PERSON, SYSTEM, Identity
from shared_kernel.unit_of_work import CommandContext, approver_of
from shared_kernel.web import command_context
from starlette.requests import Request

pytestmark = pytest.mark.unit

CONTROLLER = Approver("carla", "back", frozenset({"controller"}), person=True)


def test_a_second_back_office_person_may_approve() -> None:
    ensure_four_eyes("tom", CONTROLLER, what="booking request")


def test_the_requester_may_not_approve_their_own_request() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("carla", CONTROLLER, what="booking request")
    assert refused.value.code == "FourEyesViolation"
    assert "carla" in refused.value.detail


def test_a_front_office_approver_is_refused() -> None:
    trader = Approver("tina", "front", frozenset({"trader"}), person=True)
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", trader, what="limit change")
    assert refused.value.code == "BackOfficeRequired"


def test_an_approver_without_a_named_role_is_refused() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", CONTROLLER, what="risk acceptance", approver_roles={"risk-officer"})
    assert refused.value.code == "ApproverRoleRequired"


def test_a_system_may_not_approve_even_with_the_right_office_and_role() -> None:
    robot = Approver("trading-bot", "back", frozenset({"controller"}), person=False)
    with pytest.raises(PermissionDenied) as refused:
        ensure_four_eyes("tom", robot, what="booking request", approver_roles={"controller"})
    assert refused.value.code == "PersonRequired"
    assert "trading-bot" in refused.value.detail and "person" in refused.value.detail


@pytest.mark.parametrize(("kind", "person"), [(PERSON, True), (SYSTEM, False)])
def test_the_approver_of_a_command_is_a_person_only_when_the_signed_identity_is_one(
    kind: str, person: bool
) -> None:
    identity = Identity("carla", frozenset({"controller"}), "back", "rid-1", kind=kind)
    request = Request({"type": "http", "method": "POST", "path": "/v1/x", "headers": []})

    approver = approver_of(command_context(identity, request, None, None))

    assert approver == Approver("carla", "back", frozenset({"controller"}), person=person)


def test_a_context_not_built_from_a_person_is_not_a_person() -> None:
    context = CommandContext(actor=Actor.system("sweeper"), roles=frozenset({"controller"}))

    assert not approver_of(context).person

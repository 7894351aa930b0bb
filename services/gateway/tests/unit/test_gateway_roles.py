"""Offices follow from roles; segregation of duties: exactly one of front office, back office
or oversight, and an oversight role alone."""

import itertools

import pytest
from gateway.adapters.policy_file import load_policy
from gateway.domain.api_keys import System
from gateway.domain.operator import Operator
from gateway.domain.roles import (
    ADMIN,
    READ_ONLY_ROLES,
    ROLE_OFFICES,
    ROLES,
    Office,
    SegregationOfDutiesViolated,
    UnknownRole,
    office_of,
)
from gateway.settings import POLICY_FILE
from shared_kernel.errors import DomainError
from shared_kernel.roles import Role

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("roles", "office"),
    [
        ({"trader"}, Office.FRONT),
        ({"trader", "customer-service"}, Office.FRONT),
        ({"accountant", "controller"}, Office.BACK),
        ({"it-support"}, Office.BACK),
        ({"admin"}, Office.OVERSIGHT),
        ({"auditor"}, Office.OVERSIGHT),
    ],
)
def test_the_office_follows_from_the_roles(roles: set[str], office: Office) -> None:
    assert office_of(roles) is office


def test_front_and_back_office_roles_together_are_refused() -> None:
    with pytest.raises(SegregationOfDutiesViolated) as refused:
        office_of({"trader", "accountant", "auditor"})

    assert refused.value.field == "roles"
    assert refused.value.code == "SegregationOfDuties"
    assert "trader" in refused.value.detail and "accountant" in refused.value.detail


PAIRS = sorted(itertools.combinations(sorted(ROLES), 2))


def allowed_together(first: Role, second: Role) -> bool:
    """The rule, stated independently of the code under test: one office, and it is not
    oversight (whose roles are held alone)."""
    return ROLE_OFFICES[first] is ROLE_OFFICES[second] is not Office.OVERSIGHT


def test_the_pairs_cover_every_office_combination() -> None:
    verdicts = {allowed_together(a, b) for a, b in PAIRS}
    assert len(PAIRS) == len(ROLES) * (len(ROLES) - 1) // 2 and verdicts == {True, False}


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_every_pair_of_roles_at_registration(first: Role, second: Role) -> None:
    roles = frozenset({first, second})
    if allowed_together(first, second):
        operator = Operator.register("ada", "Ada", roles)
        assert operator.roles == roles and operator.office is ROLE_OFFICES[first]
        return
    with pytest.raises(SegregationOfDutiesViolated) as refused:
        Operator.register("ada", "Ada", roles)
    assert refused.value.code == "SegregationOfDuties" and refused.value.field == "roles"
    assert first in refused.value.detail and second in refused.value.detail


# A system never holds admin at all (AdminRoleForSystem, tested with the API keys).
@pytest.mark.parametrize(("first", "second"), [pair for pair in PAIRS if ADMIN not in pair])
def test_every_pair_of_roles_for_a_system(first: Role, second: Role) -> None:
    roles = frozenset({first, second})
    if allowed_together(first, second):
        assert System.register("robot", "Robot", roles).roles == roles
        return
    with pytest.raises(SegregationOfDutiesViolated) as refused:
        System.register("robot", "Robot", roles)
    assert first in refused.value.detail and second in refused.value.detail


@pytest.mark.parametrize(("held", "granted"), [pair for a, b in PAIRS for pair in ((a, b), (b, a))])
def test_every_pair_of_roles_by_granting_one_more(held: Role, granted: Role) -> None:
    operator = Operator.register("ada", "Ada", frozenset({held}))
    operator.mark_saved()
    if allowed_together(held, granted):
        operator.grant_role(granted, by="root")
        assert operator.roles == {held, granted} and operator.office is ROLE_OFFICES[held]
        return
    with pytest.raises(SegregationOfDutiesViolated) as refused:
        operator.grant_role(granted, by="root")
    assert held in refused.value.detail and granted in refused.value.detail
    assert operator.pending_events() == [] and operator.roles == {held}


def test_unknown_roles_and_no_roles_are_refused() -> None:
    with pytest.raises(UnknownRole, match="superuser"):
        office_of({"superuser", "admin"})
    with pytest.raises(DomainError, match="at least one role"):
        office_of(set())


def test_read_only_roles_are_given_read_routes_only_by_the_shipped_policy() -> None:
    shipped = load_policy(POLICY_FILE)

    writes = [
        r.describe() for r in shipped.rules if r.roles & READ_ONLY_ROLES and r.method != "GET"
    ]

    assert "auditor" in READ_ONLY_ROLES
    assert writes == []

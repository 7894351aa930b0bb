"""Offices follow from roles; segregation of duties refuses front plus back office."""

import pytest
from gateway.adapters.policy_file import load_policy
from gateway.domain.roles import (
    READ_ONLY_ROLES,
    Office,
    SegregationOfDutiesViolated,
    UnknownRole,
    office_of,
)
from gateway.settings import POLICY_FILE
from shared_kernel.errors import DomainError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("roles", "office"),
    [
        ({"trader"}, Office.FRONT),
        ({"trader", "customer-service"}, Office.FRONT),
        ({"accountant", "controller"}, Office.BACK),
        ({"it-support"}, Office.BACK),
        ({"admin"}, Office.NONE),
        ({"auditor", "admin"}, Office.NONE),
        ({"auditor", "risk-officer"}, Office.BACK),
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

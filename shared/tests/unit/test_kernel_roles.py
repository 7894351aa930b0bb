"""Roles, offices and kinds of caller are kernel enums that read the strings stored in tokens
and events, and refuse a name they do not know with an error naming the field."""

from __future__ import annotations

import json

import pytest
from shared_kernel.errors import DomainError
from shared_kernel.roles import (
    ROLE_OFFICES,
    CallerKind,
    Office,
    Role,
    UnknownOffice,
    UnknownRole,
    roles_of,
)

pytestmark = pytest.mark.unit


def test_a_role_reads_its_stored_name_and_equals_it() -> None:
    stored: str = "risk-officer"
    assert Role.parse(stored) is Role.RISK_OFFICER
    assert stored == Role.RISK_OFFICER and json.dumps([Role.TRADER]) == '["trader"]'
    assert "customer-service" in frozenset({Role.CUSTOMER_SERVICE})


def test_an_unknown_role_is_refused_naming_the_field_and_the_known_roles() -> None:
    with pytest.raises(UnknownRole) as refused:
        Role.parse("superuser", field="role")

    assert isinstance(refused.value, DomainError) and refused.value.status == 422
    assert refused.value.field == "role" and refused.value.code == "UnknownRole"
    assert "superuser" in refused.value.detail and "risk-officer" in refused.value.detail


def test_roles_of_names_every_unknown_role() -> None:
    assert roles_of(["trader", Role.CUSTOMER_SERVICE]) == {Role.TRADER, Role.CUSTOMER_SERVICE}
    with pytest.raises(UnknownRole, match="root, superuser") as refused:
        roles_of(["superuser", "trader", "root"])
    assert refused.value.field == "roles"


def test_the_office_stored_as_none_reads_as_oversight() -> None:
    assert Office("none") is Office.OVERSIGHT
    assert Office.parse("none") is Office.OVERSIGHT
    assert Office.parse("back") is Office.BACK


def test_an_unknown_office_is_refused_naming_the_field() -> None:
    with pytest.raises(UnknownOffice) as refused:
        Office.parse("middle")

    assert refused.value.field == "office" and "middle" in refused.value.detail


def test_every_role_belongs_to_an_office_of_people() -> None:
    assert set(ROLE_OFFICES) == set(Role)
    assert {role.office for role in Role} == {Office.FRONT, Office.BACK, Office.OVERSIGHT}
    assert Role.TRADER.office is Office.FRONT and Role.ACCOUNTANT.office is Office.BACK
    assert Role.AUDITOR.office is Office.OVERSIGHT


def test_the_kinds_of_caller_keep_the_token_values() -> None:
    assert CallerKind("user") is CallerKind.PERSON and CallerKind("system") is CallerKind.SYSTEM

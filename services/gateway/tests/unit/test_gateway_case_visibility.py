"""Who sees which case on the timeline: back office and auditors every case; the front office,
administrators and systems only the cases they started, without internal events."""

from __future__ import annotations

import pytest
from gateway.domain.cases import CaseAccess
from shared_kernel.identity import Caller
from shared_kernel.roles import CallerKind, Office

pytestmark = pytest.mark.unit


def person(name: str, role: str, office: Office) -> Caller:
    return Caller(name, frozenset({role}), office, "r", CallerKind.PERSON)


@pytest.mark.parametrize(
    ("role", "office"),
    [
        ("accountant", Office.BACK),
        ("risk-officer", Office.BACK),
        ("it-support", Office.BACK),
        ("controller", Office.BACK),
        ("auditor", Office.OVERSIGHT),
    ],
)
def test_back_office_and_auditors_see_every_case_and_every_event(role: str, office: Office) -> None:
    access = CaseAccess.of(person("anna", role, office))

    assert access.everything and access.sees_internal_events
    assert access.sees_case("trader-1") and access.sees_case("system:risk-clearance")


@pytest.mark.parametrize(
    ("role", "office"),
    [("trader", Office.FRONT), ("customer-service", Office.FRONT), ("admin", Office.OVERSIGHT)],
)
def test_front_office_and_admins_see_only_the_cases_they_started(role: str, office: Office) -> None:
    access = CaseAccess.of(person("tom", role, office))

    assert access.sees_case("tom")
    assert not access.sees_case("trader-2") and not access.sees_case("anna")
    assert not access.sees_internal_events


def test_a_system_sees_only_its_own_cases_whatever_its_roles() -> None:
    monitoring = Caller(
        "nagios", frozenset({"monitoring", "auditor"}), Office.BACK, "r", CallerKind.SYSTEM
    )
    access = CaseAccess.of(monitoring)

    assert access.sees_case("nagios") and not access.sees_case("tom")
    assert not access.sees_internal_events


def test_a_back_office_role_claimed_from_the_front_office_does_not_open_every_case() -> None:
    # Segregation of duties forbids it; should such an identity ever pass, it fails closed.
    mixed = Caller("eve", frozenset({"trader", "accountant"}), Office.FRONT, "r", CallerKind.PERSON)

    assert not CaseAccess.of(mixed).everything
    assert not CaseAccess.of(Caller.system("ledger-expiry")).everything

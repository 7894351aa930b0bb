"""The access policy: deny by default, one segment per parameter, most specific rule decides."""

from pathlib import Path

import gateway
import pytest
from gateway.adapters.policy_file import load_policy
from gateway.domain.policy import InvalidPath, Policy, PolicyError
from shared_kernel.errors import PermissionDenied
from shared_kernel.roles import Role, roles_of


def roles(*names: str) -> frozenset[Role]:
    return roles_of(names)


READERS = ["accountant", "auditor"]
ACCOUNTANT = roles("accountant")


def policy(routes: dict[str, list[str]], service: str = "ledger") -> Policy:
    return Policy.from_document({"routes": {service: routes}})


def test_a_listed_route_admits_its_roles_only() -> None:
    rules = policy({"GET /v1/accounts": READERS})

    rules.authorize("ledger", "GET", "/v1/accounts", roles("auditor"), person=True)
    with pytest.raises(PermissionDenied) as refused:
        rules.authorize("ledger", "GET", "/v1/accounts", roles("trader"), person=True)
    assert refused.value.code == "RoleMissing"
    assert "accountant, auditor" in refused.value.detail


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("ledger", "POST", "/v1/accounts"),  # other method
        ("ledger", "GET", "/v1/accounts/42"),  # longer path
        ("ledger", "GET", "/v1/account"),  # other literal
        ("risk", "GET", "/v1/accounts"),  # other service
    ],
)
def test_anything_not_listed_is_denied_even_to_every_role(
    service: str, method: str, path: str
) -> None:
    rules = policy({"GET /v1/accounts": READERS})

    with pytest.raises(PermissionDenied) as refused:
        rules.authorize(service, method, path, roles("admin", "accountant", "auditor"), person=True)
    assert refused.value.code == "NoPolicyRule"


def test_a_parameter_matches_exactly_one_segment() -> None:
    rules = policy({"GET /v1/accounts/{account_id}": READERS})

    assert rules.rule_for("ledger", "GET", "/v1/accounts/a1b2") is not None
    assert rules.rule_for("ledger", "GET", "/v1/accounts/a1/lines") is None
    assert rules.rule_for("ledger", "GET", "/v1/accounts") is None


def test_a_literal_segment_beats_a_parameter() -> None:
    rules = policy(
        {"GET /v1/accounts/{account_id}": READERS, "GET /v1/accounts/summary": ["controller"]}
    )

    summary = rules.rule_for("ledger", "GET", "/v1/accounts/summary")
    one = rules.rule_for("ledger", "GET", "/v1/accounts/42")

    assert summary is not None and summary.roles == {"controller"}
    assert one is not None and one.roles == {"accountant", "auditor"}


@pytest.mark.parametrize(
    "path", ["/v1/accounts/..", "/v1/accounts/.", "/v1//accounts", "/v1/accounts/", "", "v1/x"]
)
def test_paths_with_empty_or_dot_segments_are_refused(path: str) -> None:
    rules = policy({"GET /v1/accounts/{account_id}": READERS})

    with pytest.raises(InvalidPath):
        rules.authorize("ledger", "GET", path, roles("accountant"), person=True)


@pytest.mark.parametrize(
    ("routes", "complaint"),
    [
        ({"GET /v1/accounts": ["wizard"]}, "unknown role"),
        ({"GET /v1/accounts": []}, "non-empty list"),
        ({"FETCH /v1/accounts": READERS}, "method"),
        ({"GET /accounts": READERS}, "must start with '/v1/'"),
        ({"GET /v1/accounts/{id": READERS}, "neither a literal"),
        ({"GET /v1/a/{x}": READERS, "GET /v1/a/{y}": READERS}, "duplicates"),
    ],
)
def test_a_malformed_policy_is_refused_with_the_entry_named(
    routes: dict[str, list[str]], complaint: str
) -> None:
    with pytest.raises(PolicyError, match=complaint):
        policy(routes)


def test_the_shipped_policy_keeps_traders_out_of_the_journal() -> None:
    shipped = load_policy(Path(gateway.__file__).parent / "policy.toml")

    with pytest.raises(PermissionDenied):
        shipped.authorize("ledger", "POST", "/v1/journal-entries", roles("trader"), person=True)
    shipped.authorize("ledger", "POST", "/v1/journal-entries", roles("accountant"), person=True)
    shipped.authorize("ledger", "GET", "/v1/accounts/7/lines", roles("risk-officer"), person=True)
    with pytest.raises(PermissionDenied):
        shipped.authorize("ledger", "POST", "/v1/accounts", roles("auditor"), person=True)
    front_office = roles("trader", "customer-service")
    assert not any(
        rule.roles & front_office
        for rule in shipped.rules
        if rule.method == "POST" and rule.template.text == "/v1/journal-entries"
    )


@pytest.mark.parametrize("role", ["trader", "customer-service", "risk-officer", "auditor"])
def test_the_shipped_policy_lets_only_the_back_office_bookkeepers_rename_an_account(
    role: str,
) -> None:
    shipped = load_policy(Path(gateway.__file__).parent / "policy.toml")

    with pytest.raises(PermissionDenied):
        shipped.authorize("ledger", "PUT", "/v1/accounts/7/name", roles(role), person=True)
    for bookkeeper in ("accountant", "controller"):
        shipped.authorize("ledger", "PUT", "/v1/accounts/7/name", roles(bookkeeper), person=True)


APPROVAL = "POST /v1/requests/{request_id}/approval"


def test_a_people_only_route_refuses_a_system_even_with_the_role() -> None:
    rules = Policy.from_document(
        {"routes": {"ledger": {APPROVAL: ["accountant"]}}, "people_only": {"ledger": [APPROVAL]}}
    )

    rule = rules.authorize("ledger", "POST", "/v1/requests/7/approval", ACCOUNTANT, person=True)
    with pytest.raises(PermissionDenied) as refused:
        rules.authorize("ledger", "POST", "/v1/requests/7/approval", ACCOUNTANT, person=False)

    assert rule.people_only
    assert refused.value.code == "PersonRequired" and "/approval" in refused.value.detail


def test_other_routes_admit_a_system_with_the_role() -> None:
    rules = policy({"POST /v1/requests": ["accountant"]})

    assert not rules.authorize(
        "ledger", "POST", "/v1/requests", ACCOUNTANT, person=False
    ).people_only


@pytest.mark.parametrize("decision", ["approval", "rejection"])
def test_a_four_eyes_decision_route_missing_from_people_only_stops_the_gateway(
    decision: str,
) -> None:
    with pytest.raises(PolicyError, match=r"\[people_only\].*" + decision):
        policy({f"POST /v1/requests/{{request_id}}/{decision}": ["accountant"]})


def test_a_people_only_entry_must_name_a_route() -> None:
    with pytest.raises(PolicyError, match="names no route"):
        Policy.from_document(
            {
                "routes": {"ledger": {"GET /v1/a": ["accountant"]}},
                "people_only": {"ledger": [APPROVAL]},
            }
        )


def test_the_shipped_policy_keeps_every_approval_and_rejection_for_people() -> None:
    shipped = load_policy(Path(gateway.__file__).parent / "policy.toml")

    decisions = [r for r in shipped.rules if r.template.segments[-1] in ("approval", "rejection")]

    assert {r.service for r in decisions} == {"ledger", "risk"} and len(decisions) == 8
    assert all(r.people_only for r in decisions)
    assert not any(r.people_only for r in shipped.rules if r not in decisions)

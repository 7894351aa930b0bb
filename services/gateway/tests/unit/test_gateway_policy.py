"""The access policy: deny by default, one segment per parameter, most specific rule decides."""

from pathlib import Path

import gateway
import pytest
from gateway.adapters.policy_file import load_policy
from gateway.domain.policy import InvalidPath, Policy, PolicyError
from shared_kernel.errors import PermissionDenied

READERS = ["accountant", "auditor"]


def policy(routes: dict[str, list[str]], service: str = "ledger") -> Policy:
    return Policy.from_document({"routes": {service: routes}})


def test_a_listed_route_admits_its_roles_only() -> None:
    rules = policy({"GET /v1/accounts": READERS})

    rules.authorize("ledger", "GET", "/v1/accounts", frozenset({"auditor"}))
    with pytest.raises(PermissionDenied) as refused:
        rules.authorize("ledger", "GET", "/v1/accounts", frozenset({"trader"}))
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
        rules.authorize(service, method, path, frozenset({"admin", "accountant", "auditor"}))
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
        rules.authorize("ledger", "GET", path, frozenset({"accountant"}))


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
        shipped.authorize("ledger", "POST", "/v1/journal-entries", frozenset({"trader"}))
    shipped.authorize("ledger", "POST", "/v1/journal-entries", frozenset({"accountant"}))
    shipped.authorize("ledger", "GET", "/v1/accounts/7/lines", frozenset({"risk-officer"}))
    with pytest.raises(PermissionDenied):
        shipped.authorize("ledger", "POST", "/v1/accounts", frozenset({"auditor"}))
    front_office = frozenset({"trader", "customer-service"})
    assert not any(
        rule.roles & front_office
        for rule in shipped.rules
        if rule.method == "POST" and rule.template.text == "/v1/journal-entries"
    )

"""A service's routes from its OpenAPI document, and whether the policy decides about each."""

from __future__ import annotations

from typing import Any

import pytest
from gateway.domain.policy import Policy, PolicyError
from gateway.domain.routes import RouteTable, check_coverage

READERS = ["accountant", "auditor"]


def openapi(*routes: str) -> dict[str, Any]:
    """A minimal OpenAPI document with the routes "METHOD /path"."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        method, path = route.split(" ")
        paths.setdefault(path, {"parameters": []})[method.lower()] = {"responses": {}}
    return {"openapi": "3.1.0", "paths": paths}


def policy(*routes: str) -> Policy:
    return Policy.from_document({"routes": {"ledger": dict.fromkeys(routes, READERS)}})


def test_the_table_lists_each_operation_and_sets_aside_paths_outside_v1() -> None:
    table = RouteTable.from_openapi(
        "ledger", openapi("GET /v1/accounts", "POST /v1/accounts", "GET /health")
    )

    assert sorted(r.describe() for r in table.routes) == [
        "GET /ledger/v1/accounts",
        "POST /ledger/v1/accounts",
    ]
    assert table.unreachable == ["/health"]


def test_a_route_the_policy_could_never_name_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"/ledger/v1/files/\{name\}\.json"):
        RouteTable.from_openapi("ledger", openapi("GET /v1/files/{name}.json"))


def test_the_allowed_methods_are_those_of_every_template_matching_the_path() -> None:
    table = RouteTable.from_openapi(
        "ledger",
        openapi(
            "GET /v1/accounts/{account_id}",
            "DELETE /v1/accounts/{account_id}",
            "GET /v1/accounts/summary",
            "POST /v1/accounts",
        ),
    )

    # /summary is matched by the literal template and by {account_id}, as a router would try.
    assert table.allowed_methods(("v1", "accounts", "summary")) == frozenset({"GET", "DELETE"})
    assert table.allowed_methods(("v1", "accounts", "42")) == frozenset({"GET", "DELETE"})
    assert table.allowed_methods(("v1", "accounts")) == frozenset({"POST"})
    assert table.allowed_methods(("v1", "accounts", "42", "lines")) is None


def test_every_route_the_policy_does_not_mention_is_named_with_method_and_path() -> None:
    table = RouteTable.from_openapi(
        "ledger",
        openapi("GET /v1/accounts", "POST /v1/accounts", "GET /v1/accounts/{account_id}"),
    )

    coverage = check_coverage(policy("GET /v1/accounts", "GET /v1/accounts/{id}"), table)

    assert not coverage.complete
    assert [r.describe() for r in coverage.uncovered] == ["POST /ledger/v1/accounts"]
    assert coverage.unused == []


def test_a_generic_entry_does_not_cover_a_more_specific_route() -> None:
    table = RouteTable.from_openapi("ledger", openapi("GET /v1/accounts/summary"))

    coverage = check_coverage(policy("GET /v1/accounts/{account_id}"), table)

    assert [r.describe() for r in coverage.uncovered] == ["GET /ledger/v1/accounts/summary"]
    assert [r.describe() for r in coverage.unused] == ["GET /ledger/v1/accounts/{account_id}"]


def test_a_policy_entry_for_a_route_the_service_lacks_is_only_reported() -> None:
    table = RouteTable.from_openapi("ledger", openapi("GET /v1/accounts"))

    coverage = check_coverage(policy("GET /v1/accounts", "DELETE /v1/accounts"), table)

    assert coverage.complete
    assert [r.describe() for r in coverage.unused] == ["DELETE /ledger/v1/accounts"]


def test_before_the_document_is_known_the_policy_names_the_routes() -> None:
    table = RouteTable.from_policy("ledger", policy("GET /v1/accounts", "POST /v1/accounts"))

    assert table.allowed_methods(("v1", "accounts")) == frozenset({"GET", "POST"})

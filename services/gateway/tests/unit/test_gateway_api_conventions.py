"""The combined API description (gateway plus every service, as users see it) keeps the
conventions: errors are problem+json, a POST that creates answers 201 with ``Location`` and one
that changes an existing record answers 200, and the schema says what validation checks."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from gateway.adapters.policy_file import load_policy
from gateway.api.openapi_document import combined_openapi
from gateway.main import create_app as gateway_app
from ledger.main import create_app as ledger_app
from risk.main import create_app as risk_app
from tickets.main import create_app as tickets_app

pytestmark = pytest.mark.unit

POLICY = Path(__file__).resolve().parents[2] / "src/gateway/policy.toml"
# Last path segments that name a change of an existing record's state: always 200.
STATE_CHANGE_NOUNS = {
    "approval",
    "rejection",
    "closing",
    "closure",
    "removal",
    "completion",
    "assignment",
    "classification",
    "merge",
    "disable",
    "transitions",
    "change-requests",
    "measures",
    "roles",
}
# POSTs that create nothing and change no record: a log-in, a check, an alert that is
# de-duplicated into an open incident or opens one.
ANSWERS_WITHOUT_CREATING = {"/auth/login", "/risk/v1/pre-deal-checks", "/tickets/v1/alerts"}


@cache
def document() -> dict[str, Any]:
    services = {"ledger": ledger_app(), "risk": risk_app(), "tickets": tickets_app()}
    return combined_openapi(
        gateway_app().openapi(),
        {name: app.openapi() for name, app in services.items()},
        load_policy(POLICY),
        {"title": "Back office API", "version": "1"},
    )


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def test_every_error_answer_is_documented_as_a_problem() -> None:
    schemas = document()["components"]["schemas"]
    assert not [name for name in schemas if "HTTPValidationError" in name]
    for path, method, operation in operations():
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert {"401", "403", "422"} <= set(errors), (method, path)
        for status, answer in errors.items():
            [(media, content)] = answer["content"].items()
            assert media == "application/problem+json", (method, path, status)
            problem = resolve(content["schema"])
            assert {"status", "title", "detail", "type", "code", "field", "errors"} <= set(
                problem["properties"]
            ), (method, path, status)


def test_a_post_answers_201_with_location_when_it_creates_and_200_when_it_changes() -> None:
    created, changed = set(), set()
    for path, method, operation in operations():
        if method != "post":
            continue
        successes = [s for s in operation["responses"] if s.startswith("2")]
        assert successes in (["200"], ["201"]), (path, successes)
        if successes == ["201"]:
            created.add(path)
            assert "Location" in operation["responses"]["201"].get("headers", {}), path
        else:
            changed.add(path)
    state_changes = {p for p in created | changed if p.rsplit("/", 1)[-1] in STATE_CHANGE_NOUNS}
    assert state_changes - changed == set(), "state changes answer 200"
    assert changed - state_changes == ANSWERS_WITHOUT_CREATING, "a 200 that is not a change"
    # A reversal (Storno) is a new journal entry; approving a request changes the request.
    assert "/ledger/v1/journal-entries/{entry_id}/reversal" in created
    assert "/ledger/v1/booking-requests/{request_id}/approval" in changed


def test_amounts_have_a_minimum_and_a_pre_deal_check_names_a_counterparty_or_a_desk() -> None:
    schemas = document()["components"]["schemas"]
    request_bodies = {
        name: schema
        for name, schema in schemas.items()
        if name.endswith("Body") and "amount" in schema.get("properties", {})
    }
    assert {"ledger.LineBody", "risk.PreDealCheckBody", "risk.LimitBody"} <= set(request_bodies)
    for name, schema in request_bodies.items():
        amount = schema["properties"]["amount"]
        assert amount.get("exclusiveMinimum") == 0 or amount.get("minimum", -1) >= 0, name
    pre_deal = schemas["risk.PreDealCheckBody"]
    assert [sorted(alternative["required"]) for alternative in pre_deal["anyOf"]] == [
        ["counterparty"],
        ["desk"],
    ]


def test_every_reference_of_the_combined_document_resolves() -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in set(refs(document())):
        assert resolve({"$ref": ref}), ref


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    node: Any = document()
    for part in schema.get("$ref", "#").removeprefix("#/").split("/") if "$ref" in schema else []:
        node = node[part]
    resolved: dict[str, Any] = node if "$ref" in schema else schema
    return resolved

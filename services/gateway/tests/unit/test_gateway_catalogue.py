"""Start-up discovery: the gateway reads each service's OpenAPI document, waits a bounded time
for services that are still starting, and refuses to start when the policy misses a route."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from gateway.adapters.upstream import (
    InvalidServiceDescription,
    UpstreamError,
    UpstreamUnavailable,
)
from gateway.app.catalogue import RETRY_OPTIONAL_SECONDS, GatewayMisconfigured, ServiceCatalogue
from gateway.domain.policy import Policy

from .test_gateway_routes import openapi

READERS = ["accountant", "auditor"]
LEDGER = openapi("GET /v1/accounts", "POST /v1/accounts", "GET /v1/accounts/{account_id}")


def policy(**services: list[str]) -> Policy:
    return Policy.from_document(
        {"routes": {name: dict.fromkeys(routes, READERS) for name, routes in services.items()}}
    )


LEDGER_POLICY = ["GET /v1/accounts", "POST /v1/accounts", "GET /v1/accounts/{id}"]


@dataclass
class Services:
    """Fake services: each answers its document after failing ``down_for`` attempts."""

    documents: dict[str, dict[str, Any]]
    down_for: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    failure: Callable[[str], UpstreamError] = lambda s: UpstreamUnavailable(s, "refused")

    async def fetch(self, service: str) -> dict[str, Any]:
        self.attempts[service] = self.attempts.get(service, 0) + 1
        if self.attempts[service] <= self.down_for.get(service, 0):
            raise self.failure(service)
        return self.documents[service]


async def test_a_service_that_is_still_starting_is_waited_for() -> None:
    services = Services({"ledger": LEDGER}, down_for={"ledger": 3})
    catalogue = ServiceCatalogue(policy(ledger=LEDGER_POLICY), ["ledger"], [])

    await catalogue.discover(services.fetch, wait_seconds=10)

    assert services.attempts["ledger"] == 4
    assert catalogue.documents["ledger"] is LEDGER
    assert catalogue.allowed_methods("ledger", ("v1", "accounts")) == frozenset({"GET", "POST"})


async def test_a_required_service_that_never_answers_stops_the_gateway_in_bounded_time() -> None:
    services = Services({"ledger": LEDGER}, down_for={"ledger": 10**6})
    catalogue = ServiceCatalogue(policy(ledger=LEDGER_POLICY), ["ledger"], [])

    started = time.monotonic()
    with pytest.raises(GatewayMisconfigured, match="ledger: no OpenAPI document") as refused:
        await catalogue.discover(services.fetch, wait_seconds=1)

    assert time.monotonic() - started < 3
    assert "refused" in str(refused.value)


async def test_a_document_that_is_not_openapi_stops_the_gateway_at_once() -> None:
    services = Services(
        {"ledger": LEDGER},
        down_for={"ledger": 1},
        failure=lambda s: InvalidServiceDescription(s, "/openapi.json is not JSON"),
    )
    catalogue = ServiceCatalogue(policy(ledger=LEDGER_POLICY), ["ledger"], [])

    started = time.monotonic()
    with pytest.raises(GatewayMisconfigured, match="not JSON"):
        await catalogue.discover(services.fetch, wait_seconds=30)

    assert time.monotonic() - started < 1


async def test_routes_the_policy_does_not_mention_stop_the_gateway_each_named() -> None:
    document = openapi("GET /v1/accounts", "POST /v1/accounts", "DELETE /v1/accounts/{id}")
    catalogue = ServiceCatalogue(policy(ledger=["GET /v1/accounts"]), ["ledger"], [])

    with pytest.raises(GatewayMisconfigured) as refused:
        await catalogue.discover(Services({"ledger": document}).fetch, wait_seconds=1)

    message = str(refused.value)
    assert "POST /ledger/v1/accounts is a route of the ledger service" in message
    assert "DELETE /ledger/v1/accounts/{id}" in message
    assert "GET /ledger/v1/accounts " not in message


async def test_a_policy_entry_for_a_missing_route_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = policy(ledger=[*LEDGER_POLICY, "DELETE /v1/accounts/{id}"])
    catalogue = ServiceCatalogue(rules, ["ledger"], [])

    with caplog.at_level(logging.WARNING):
        await catalogue.discover(Services({"ledger": LEDGER}).fetch, wait_seconds=1)

    assert "policy entry DELETE /ledger/v1/accounts/{id} names a route" in caplog.text
    # The service's document is the truth: the method it lacks is not allowed.
    assert catalogue.allowed_methods("ledger", ("v1", "accounts", "1")) == frozenset({"GET"})


async def test_an_optional_service_may_be_down_and_is_read_once_it_is_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    tickets = openapi("GET /v1/tickets", "POST /v1/tickets")
    services = Services({"ledger": LEDGER, "tickets": tickets}, down_for={"tickets": 1})
    rules = policy(ledger=LEDGER_POLICY, tickets=["GET /v1/tickets"])
    catalogue = ServiceCatalogue(rules, ["ledger", "tickets"], ["tickets"], clock=lambda: now[0])

    with caplog.at_level(logging.WARNING):
        await catalogue.discover(services.fetch, wait_seconds=1)

    assert "optional service tickets is not reachable" in caplog.text
    assert set(catalogue.documents) == {"ledger"}
    # Meanwhile its routes are the policy's.
    assert catalogue.allowed_methods("tickets", ("v1", "tickets")) == frozenset({"GET"})

    await catalogue.retry_missing(services.fetch)
    assert services.attempts["tickets"] == 1  # not yet: retries are throttled

    now[0] += RETRY_OPTIONAL_SECONDS
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        await catalogue.retry_missing(services.fetch)

    assert set(catalogue.documents) == {"ledger", "tickets"}
    assert catalogue.allowed_methods("tickets", ("v1", "tickets")) == frozenset({"GET", "POST"})
    # Too late to refuse to start: the gap is logged, and the route stays denied by default.
    assert "POST /tickets/v1/tickets is a route of the tickets service" in caplog.text

"""The gateway's ``/metrics`` against a real gateway (PostgreSQL, Kafka, the ledger faked):
proxied requests counted by the policy's route template and the caller's office, refused
log-ins, rate-limit refusals and four-eyes refusals by their reason; and ``/metrics`` itself
open without credentials yet no route of the API: it forwards nothing and grants nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from shared_kernel.testing import metric_value, scrape_metrics

from .conftest import ADMIN_PASSWORD, RunningGateway, StartGateway
from .test_gateway_admin_flow import register

pytestmark = pytest.mark.integration

REQUESTS = "backoffice_http_requests_total"


async def test_proxied_requests_are_counted_by_the_policys_route_template(
    running: RunningGateway,
) -> None:
    accountant = await register(running, "ada", "accountant")
    before = await scrape_metrics(running.client)

    for _ in range(2):
        answer = await running.client.get(f"/ledger/v1/accounts/{uuid4()}", headers=accountant)
        assert answer.status_code == 200
    refused = await running.client.get(f"/ledger/v1/accounts/{uuid4()}")  # no credentials
    after = await scrape_metrics(running.client)

    allowed = {"route": "/ledger/v1/accounts/{account_id}", "method": "GET", "status": "200"}
    labels = {"service": "gateway", "office": "back", **allowed}
    assert metric_value(after, REQUESTS, **labels) - metric_value(before, REQUESTS, **labels) == 2
    assert refused.status_code == 401
    # Refused before any policy rule matched: the router's template, not the raw path.
    anonymous = {"service": "gateway", "method": "GET", "status": "401", "office": "none"}
    assert metric_value(after, REQUESTS, route="/{service}/v1/{path:path}", **anonymous) >= 1
    assert not any(refused.url.path in dict(labels).get("route", "") for _, labels in after)
    latency = "backoffice_http_request_duration_seconds_count"
    timing = {"service": "gateway", "route": allowed["route"], "method": "GET"}
    assert metric_value(after, latency, **timing) - metric_value(before, latency, **timing) == 2


async def test_refused_log_ins_and_lock_outs_are_counted_by_reason(
    running: RunningGateway,
) -> None:
    failed = {"service": "gateway", "reason": "InvalidCredentials"}
    locked = {"service": "gateway", "limit": "LoginLimitPerUsernameAndClient"}
    before = await scrape_metrics(running.client)

    # 5 attempts per minute per username and client (see conftest): the sixth is locked out.
    statuses = [
        (
            await running.client.post(
                "/auth/login", json={"username": "root", "password": "wrong-password"}
            )
        ).status_code
        for _ in range(6)
    ]
    after = await scrape_metrics(running.client)

    assert statuses == [401] * 5 + [429]
    login_failures = "backoffice_login_failures_total"
    assert (
        metric_value(after, login_failures, **failed)
        - metric_value(before, login_failures, **failed)
        == 5
    )
    refusals = "backoffice_rate_limit_refusals_total"
    assert metric_value(after, refusals, **locked) - metric_value(before, refusals, **locked) == 1


async def test_a_system_refused_a_four_eyes_decision_is_counted(running: RunningGateway) -> None:
    admin = await running.admin()
    created = await running.client.post(
        "/admin/v1/systems",
        json={"name": "booker", "display_name": "Booker", "roles": ["accountant"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = (await running.client.post("/admin/v1/systems/booker/api-keys", headers=admin)).json()
    labels = {"service": "gateway", "code": "PersonRequired"}
    before = await scrape_metrics(running.client)

    approved = await running.client.post(
        "/ledger/v1/booking-requests/42/approval", json={}, headers={"X-API-Key": key["api_key"]}
    )
    after = await scrape_metrics(running.client)

    assert approved.status_code == 403
    refusals = "backoffice_four_eyes_refusals_total"
    assert metric_value(after, refusals, **labels) - metric_value(before, refusals, **labels) == 1


async def test_metrics_need_no_login_and_are_no_route_of_the_api(
    start_gateway: StartGateway,
) -> None:
    running = await start_gateway(metrics_sample_interval_seconds=0)
    admin = await running.log_in("root", ADMIN_PASSWORD)

    scraped = await scrape_metrics(running.client)
    document = (await running.client.get("/openapi.json")).json()
    me = (await running.client.get("/auth/me", headers=admin)).json()

    assert ("backoffice_relay_lag_positions", frozenset({("service", "gateway")})) in scraped
    assert "/metrics" not in document["paths"]
    assert not [p for p in me["permissions"] if "/metrics" in str(p)]
    assert running.ledger.received == []  # nothing was forwarded
    for method in ("POST", "PUT", "DELETE"):
        assert (await running.client.request(method, "/metrics")).status_code == 405
    # Scrapes are not requests of the API: neither counted nor audited.
    assert not [key for key in scraped if key[0] == REQUESTS and ("route", "/metrics") in key[1]]

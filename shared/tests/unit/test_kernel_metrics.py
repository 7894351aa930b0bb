"""The kernel's metrics: requests counted by route template (never the raw path), method,
status and the verified caller's office; four-eyes refusals counted by code; lag series of
revoked partitions removed; and the Prometheus text at ``/metrics``. In-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import uuid4

import httpx
import pytest
from aiokafka import TopicPartition
from fastapi import Depends, FastAPI, Request
from prometheus_client import Gauge
from shared_kernel.errors import PermissionDenied
from shared_kernel.four_eyes import ensure_four_eyes
from shared_kernel.identity import Caller
from shared_kernel.lag import PartitionGauge
from shared_kernel.metrics import (
    REGISTRY,
    UNMATCHED,
    install_metrics,
    metric_names,
    note_office,
)
from shared_kernel.web import create_service_app

pytestmark = pytest.mark.unit


@asynccontextmanager
async def _no_runtime(_: FastAPI) -> AsyncIterator[None]:
    yield


async def _back_office_caller(request: Request) -> str:
    note_office(request, "back")  # what the identity dependency does for a verified caller
    return "someone"


def _app(service: str) -> FastAPI:
    app = create_service_app("Measured", _no_runtime)
    install_metrics(app, service)

    @app.get("/v1/things/{thing_id}")
    async def read(thing_id: str, caller: Annotated[str, Depends(_back_office_caller)]) -> str:
        return thing_id

    @app.post("/v1/things/{thing_id}/approve")
    async def approve(thing_id: str) -> None:
        ensure_four_eyes("ada", Caller("ada", ["accountant"], "back"), what="thing")

    @app.post("/v1/things/{thing_id}/rating")
    async def rate(thing_id: str) -> None:
        # The same code for another rule than four-eyes: not a four-eyes refusal.
        raise PermissionDenied("a system cannot rate", code="PersonRequired")

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def service() -> str:
    return f"svc-{uuid4().hex[:8]}"  # a label of its own: the registry is the process's


@pytest.fixture
async def client(service: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://measured") as client:
        yield client


def _requests(service: str, route: str, method: str, status: int, office: str) -> float:
    labels = {"service": service, "route": route, "method": method}
    labels |= {"status": str(status), "office": office}
    return REGISTRY.get_sample_value("backoffice_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_with_the_callers_office(
    client: httpx.AsyncClient, service: str
) -> None:
    for thing in ("a1", "b2", "c3"):
        assert (await client.get(f"/v1/things/{thing}")).status_code == 200

    assert _requests(service, "/v1/things/{thing_id}", "GET", 200, "back") == 3
    # No series per id: the raw paths appear nowhere in the exposition.
    text = (await client.get("/metrics")).text
    assert "/v1/things/a1" not in text and 'route="/v1/things/{thing_id}"' in text
    count = REGISTRY.get_sample_value(
        "backoffice_http_request_duration_seconds_count",
        {"service": service, "route": "/v1/things/{thing_id}", "method": "GET"},
    )
    assert count == 3


async def test_unknown_paths_share_one_series_and_errors_count_with_their_status(
    client: httpx.AsyncClient, service: str
) -> None:
    await client.get("/nothing/here/1")
    await client.get("/nothing/here/2")
    assert (await client.get("/v1/boom")).status_code == 500

    assert _requests(service, UNMATCHED, "GET", 404, "none") == 2
    assert _requests(service, "/v1/boom", "GET", 500, "none") == 1


async def test_made_up_methods_share_one_series(client: httpx.AsyncClient, service: str) -> None:
    for method in ("BREW", "WHEN", "X-ANYTHING"):
        await client.request(method, "/v1/things/1")

    assert _requests(service, "/v1/things/{thing_id}", "other", 405, "none") == 3
    assert "BREW" not in (await client.get("/metrics")).text


async def test_four_eyes_refusals_are_counted_by_code_and_other_refusals_not(
    client: httpx.AsyncClient, service: str
) -> None:
    approvals = [(await client.post("/v1/things/x/approve")).status_code for _ in range(2)]
    rating = await client.post("/v1/things/x/rating")

    refusals = {
        code: REGISTRY.get_sample_value(
            "backoffice_four_eyes_refusals_total", {"service": service, "code": code}
        )
        for code in ("FourEyesViolation", "PersonRequired")
    }
    assert approvals == [403, 403] and rating.status_code == 403
    assert refusals == {"FourEyesViolation": 2.0, "PersonRequired": None}


async def test_metrics_are_served_as_prometheus_text_and_scrapes_are_not_counted(
    client: httpx.AsyncClient, service: str
) -> None:
    first = await client.get("/metrics")
    await client.get("/metrics")

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE backoffice_http_requests_total counter" in first.text
    assert _requests(service, "/metrics", "GET", 200, "none") == 0


def test_metric_names_include_the_sample_suffixes_of_counters_and_histograms() -> None:
    names = metric_names()

    assert {"backoffice_http_requests_total", "backoffice_relay_lag_positions"} <= names
    assert {
        f"backoffice_http_request_duration_seconds{suffix}"
        for suffix in ("_bucket", "_sum", "_count")
    } <= names
    assert all(name.startswith("backoffice_") for name in names)
    assert "backoffice_relay_lag_positions_total" not in names  # a gauge has no _total


def test_a_partition_no_longer_reported_loses_its_series() -> None:
    gauge = Gauge("test_lag", "lag", ["service", "consumer", "topic", "partition"], registry=None)
    shown = PartitionGauge(gauge, "svc", "view")
    shown.show({TopicPartition("t", 0): 5, TopicPartition("t", 1): 7})
    shown.show({TopicPartition("t", 1): 2})

    samples = {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in gauge.collect()
        for s in family.samples
    }
    assert samples == {("t", "1"): 2}

"""The ledger's ``/metrics`` against real PostgreSQL and Kafka, read as Prometheus reads it:
requests by route template and office, the relay's lag, the projection's lag per partition,
and the dead-letter counter moving when a projection is broken on purpose (a record it cannot
read put on the topic it consumes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar
from uuid import uuid4

import httpx
import pytest
from ledger.bootstrap import Ledger, LedgerSettings
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.testing import Headers, metric_value, scrape_metrics
from shared_kernel.testing import MetricSamples as Samples

from .conftest import running_ledger
from .test_ledger_api_flow import open_account

pytestmark = pytest.mark.integration

T = TypeVar("T")


def series(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    wanted = set(labels.items())
    return {key: v for (n, key), v in samples.items() if n == name and wanted <= key}


RELAY_LAG = "backoffice_relay_lag_positions"
REQUESTS = "backoffice_http_requests_total"
DEAD_LETTERS = "backoffice_dead_letters_total"


async def test_requests_are_counted_by_route_template_and_office(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    created = {"route": "/v1/accounts", "method": "POST", "status": "201", "office": "back"}
    async with running_ledger(ledger_settings) as client:
        before = await scrape_metrics(client)
        await open_account(client, as_role("accountant"), "1000", "asset")
        await open_account(client, as_role("accountant"), "1200", "asset")
        refused = await client.get(f"/v1/accounts/{uuid4()}")  # no identity: 401
        after = await scrape_metrics(client)

    assert (
        metric_value(after, REQUESTS, service="ledger", **created)
        - metric_value(before, REQUESTS, service="ledger", **created)
        == 2
    )
    assert refused.status_code == 401
    unauthenticated = {"route": "/v1/accounts/{account_id}", "method": "GET", "status": "401"}
    assert metric_value(after, REQUESTS, service="ledger", office="none", **unauthenticated) >= 1
    # No series of its own for the raw path: ids would make one per request.
    assert not series(after, REQUESTS, route=refused.url.path)


async def test_relay_lag_counts_what_is_stored_but_not_yet_published(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    async with running_ledger(
        ledger_settings, run_relay=False, metrics_sample_interval_seconds=0
    ) as client:
        idle = await scrape_metrics(client)
        await open_account(client, as_role("accountant"), "1000", "asset")
        await open_account(client, as_role("accountant"), "1200", "asset")
        behind = await scrape_metrics(client)

    assert series(idle, RELAY_LAG, service="ledger") == {frozenset({("service", "ledger")}): 0}
    # Two events stored, none published (positions may have gaps: at least two).
    assert metric_value(behind, RELAY_LAG, service="ledger") >= 2


async def test_projection_lag_per_partition_drops_to_zero_once_applied(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    topic = events_topic("ledger", ledger_settings.topic_namespace)
    async with running_ledger(ledger_settings, metrics_sample_interval_seconds=0) as client:
        account = await open_account(client, as_role("accountant"), "1000", "asset")
        read = await client.get(
            f"/v1/accounts/{account}",
            params={"min_position": 1, "wait_ms": 10000},
            headers=as_role("accountant"),
        )
        assert read.headers["X-Consistent"] == "true"

        view = projection_of(client)
        lags = await eventually(
            client,
            # This app's series (the registry is the process's: other tests' apps ran before).
            lambda s: series(s, "backoffice_projection_lag_messages", consumer=view, topic=topic),
        )
        relay = series(await scrape_metrics(client), RELAY_LAG, service="ledger")

    assert len(lags) == ledger_settings.topic_partitions  # one series per partition
    assert set(lags.values()) == {0.0}
    assert list(relay.values()) == [0.0]


async def test_a_broken_projection_moves_the_dead_letter_metric(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    topic = events_topic("ledger", ledger_settings.topic_namespace)
    async with running_ledger(ledger_settings) as client:
        labels = {"service": "ledger", "consumer": projection_of(client), "topic": topic}
        # The projection is running and has applied something: then the poison arrives.
        await open_account(client, as_role("accountant"), "1000", "asset")
        before = metric_value(await scrape_metrics(client), DEAD_LETTERS, **labels)
        producer = create_producer(ledger_settings.kafka_bootstrap_servers, client_id="poisoner")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value=b"{not a cloudevent", key=b"poison")
        finally:
            await producer.stop()

        await eventually(client, lambda s: metric_value(s, DEAD_LETTERS, **labels) > before)
        after = metric_value(await scrape_metrics(client), DEAD_LETTERS, **labels)

    assert after == before + 1


def projection_of(client: httpx.AsyncClient) -> str:
    """The name of the ledger's projection (its read model's, versioned)."""
    ledger: Ledger = client.ledger  # type: ignore[attr-defined]
    return ledger.runtime.projections[0].name


async def eventually(
    client: httpx.AsyncClient, seen: Callable[[Samples], T], timeout: float = 20.0
) -> T:
    """Scrape until ``seen`` finds something truthy (a metric moves after the fact)."""
    deadline = time.monotonic() + timeout
    while True:
        found = seen(await scrape_metrics(client))
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("the metric did not move in time")
        await asyncio.sleep(0.1)

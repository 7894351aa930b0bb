"""How far behind a service is, sampled when ``/metrics`` is scraped.

Relay lag is the newest stored position minus the newest published one (the outbox cursor):
positions may have gaps (see ``eventstore``), so it is an upper bound of the events waiting,
and 0 when everything is published. Projection and inbox lag are Kafka end offsets minus what
each consumer has applied, per topic partition (``ProjectionRunner.lag``, ``InboxRunner.lag``).

Sampling costs a few queries and a Kafka round trip, so ``LagSampler`` does it at most once per
``metrics_sample_interval_seconds`` (a setting; concurrent scrapes share one sample) and never
for longer than ``timeout``: a ``/metrics`` open to anyone on a port cannot be turned into load
on the database. A failed
sample (database or Kafka away) is counted (``backoffice_lag_sample_failures_total``) and the
gauges keep their last values.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from aiokafka import TopicPartition
from fastapi import FastAPI
from prometheus_client import Gauge

from shared_kernel.metrics import (
    INBOX_LAG,
    LAG_SAMPLE_FAILURES,
    PROJECTION_LAG,
    RELAY_LAG,
    install_metrics,
)
from shared_kernel.schema import outbox_cursor

if TYPE_CHECKING:
    from shared_kernel.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Lags = dict[TopicPartition, int]


async def relay_lag(runtime: ServiceRuntime) -> int:
    """Newest stored position minus the newest published (whichever process relays)."""
    async with runtime.engine.connect() as conn:
        head = await runtime.store.head(conn)
        newest = sa.func.coalesce(sa.func.max(outbox_cursor.c.position), 0)
        published = (await conn.execute(sa.select(newest))).scalar_one()
    return max(0, head - int(published))


class PartitionGauge:
    """One consumer's per-partition lag series of a gauge; the series of partitions it no
    longer reports (revoked, consumer stopped) are removed, not left at a stale value."""

    def __init__(self, gauge: Gauge, service: str, consumer: str) -> None:
        self._gauge = gauge
        self._prefix = (service, consumer)
        self._shown: set[tuple[str, str]] = set()

    def show(self, lags: Lags) -> None:
        now = {(tp.topic, str(tp.partition)): lag for tp, lag in lags.items()}
        for gone in self._shown - now.keys():
            self._gauge.remove(*self._prefix, *gone)
        for (topic, partition), lag in now.items():
            self._gauge.labels(*self._prefix, topic, partition).set(lag)
        self._shown = set(now)


class LagSampler:
    """Refreshes the lag gauges of one service runtime (``refresh``, called before a scrape)."""

    def __init__(
        self, runtime: Callable[[], ServiceRuntime | None], *, timeout: float = 3.0
    ) -> None:
        self._runtime = runtime
        self._timeout = timeout
        self._sampled_at = float("-inf")
        self._lock = asyncio.Lock()
        self._gauges: dict[tuple[int, str], PartitionGauge] = {}

    async def refresh(self) -> None:
        runtime = self._runtime()
        if runtime is None:  # not started yet
            return
        async with self._lock:
            interval = runtime.settings.metrics_sample_interval_seconds
            if time.monotonic() - self._sampled_at < interval:
                return  # a scrape just now sampled: the gauges are fresh
            self._sampled_at = time.monotonic()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._sample(runtime)
            except Exception as exc:  # a scrape still answers, with the last values
                LAG_SAMPLE_FAILURES.labels(runtime.service).inc()
                log.warning("lag sample of %s failed: %r", runtime.service, exc)

    async def _sample(self, runtime: ServiceRuntime) -> None:
        RELAY_LAG.labels(runtime.service).set(await relay_lag(runtime))
        await self._show(
            runtime.service,
            PROJECTION_LAG,
            ((r.projection.name, r.lag) for r in runtime.runners),
        )
        await self._show(
            runtime.service,
            INBOX_LAG,
            ((f"{runtime.service}.{r.handler.name}", r.lag) for r in runtime.inbox_runners),
        )

    async def _show(
        self,
        service: str,
        gauge: Gauge,
        consumers: Iterable[tuple[str, Callable[[], Awaitable[Lags]]]],
    ) -> None:
        for consumer, lag in consumers:
            key = (id(gauge), consumer)
            shown = self._gauges.get(key)
            if shown is None:
                shown = self._gauges[key] = PartitionGauge(gauge, service, consumer)
            shown.show(await lag())


def install_runtime_metrics(
    app: FastAPI,
    service: str,
    runtime: Callable[[], ServiceRuntime | None],
    *,
    middleware: bool = True,
) -> None:
    """``/metrics`` (and the request metrics middleware, see ``install_metrics``) for an app
    whose runtime (made in the lifespan, hence a callable) has its lags sampled when scraped."""
    install_metrics(app, service, before_scrape=LagSampler(runtime).refresh, middleware=middleware)

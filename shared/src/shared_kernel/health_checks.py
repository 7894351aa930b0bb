"""The readiness checks of a service: its database, Kafka, and how far behind each read model
and inbox is.

Lag is counted in events, per partition: the topic's end offset minus the next offset the
consumer will apply. A projection's applied offsets are its checkpoints in the live
generation (in the database, written with the read-model change); an inbox's are its consumer
group's committed offsets (committed after each fetch's transaction). The check passes while
the sum over the partitions is at most ``max_lag`` events.

Kafka is asked through ONE long-lived consumer and admin client per process (``KafkaOffsets``),
not a new client per probe, and at most once per ``max_age`` seconds: a probe every second
from several load balancers costs Kafka one list-offsets request a second, and a broker that
does not answer fails the check within the probe's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kernel.health import CheckOutcome, Probe, timed
from shared_kernel.kafka import topic_partitions
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.readmodel import Offsets, ReadModelStore

#: the next offset a consumer applies, per partition
NextOffsets = dict[TopicPartition, int]
# Partitions named in a lag detail: the worst few.
_SHOWN_PARTITIONS = 3


def database_probe(engine: AsyncEngine) -> Probe:
    """The database answers a query."""

    async def probe() -> CheckOutcome:
        started = time.perf_counter()
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True, timed(started)

    return probe


class KafkaOffsets:
    """End offsets and consumer-group offsets of a process's topics, from long-lived clients,
    refreshed at most every ``max_age`` seconds; ``stop`` closes the clients."""

    def __init__(
        self, bootstrap_servers: KafkaTarget, topics: Sequence[str], *, max_age: float = 1.0
    ) -> None:
        self._bootstrap = bootstrap_servers
        self.topics = sorted(set(topics))
        self._max_age = max_age
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._partitions: list[TopicPartition] = []
        self._ends: dict[TopicPartition, int] = {}
        self._ends_at = -float("inf")
        self._groups: dict[str, tuple[float, NextOffsets]] = {}
        self._lock = asyncio.Lock()

    async def end_offsets(self) -> dict[TopicPartition, int]:
        """The end offset (the next offset to be written) of every partition of the topics."""
        async with self._lock:
            if time.monotonic() - self._ends_at > self._max_age:
                consumer = await self._started_consumer()
                if not self._partitions:
                    counts = await asyncio.gather(
                        *(topic_partitions(self._bootstrap, t, timeout=5.0) for t in self.topics)
                    )
                    pairs = zip(self.topics, counts, strict=True)
                    self._partitions = [TopicPartition(t, p) for t, n in pairs for p in range(n)]
                self._ends = dict(await consumer.end_offsets(self._partitions))
                self._ends_at = time.monotonic()
            return self._ends

    async def committed(self, group_id: str) -> NextOffsets:
        """The offsets ``group_id`` has committed (the next it will read), per partition."""
        async with self._lock:
            cached = self._groups.get(group_id)
            if cached is not None and time.monotonic() - cached[0] <= self._max_age:
                return cached[1]
            admin = await self._started_admin()
            found = await admin.list_consumer_group_offsets(group_id)
            offsets = {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}
            self._groups[group_id] = (time.monotonic(), offsets)
            return offsets

    async def _started_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **client_kwargs(self._bootstrap),
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=5000,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _started_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(**client_kwargs(self._bootstrap), request_timeout_ms=5000)
            await admin.start()
            self._admin = admin
        return self._admin

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    def kafka_probe(self) -> Probe:
        """Kafka answers for the process's topics (a cached list-offsets request)."""

        async def probe() -> CheckOutcome:
            ends = await self.end_offsets()
            return True, f"{len(ends)} partitions of {len(self.topics)} topics known"

        return probe


def lag_outcome(
    ends: dict[TopicPartition, int], applied: NextOffsets, topics: Sequence[str], max_lag: int
) -> CheckOutcome:
    """Whether the events not yet applied on ``topics`` are at most ``max_lag``."""
    behind = {
        tp: end - applied.get(tp, 0)
        for tp, end in ends.items()
        if tp.topic in topics and end - applied.get(tp, 0) > 0
    }
    total = sum(behind.values())
    if not behind:
        return True, "up to date"
    worst = sorted(behind.items(), key=lambda item: -item[1])[:_SHOWN_PARTITIONS]
    where = ", ".join(f"{tp.topic}[{tp.partition}]: {lag}" for tp, lag in worst)
    verdict = "within" if total <= max_lag else "more than"
    return total <= max_lag, f"{total} events behind ({where}); {verdict} the {max_lag} allowed"


def projection_lag_probe(
    read_model: ReadModelStore, topics: Sequence[str], offsets: KafkaOffsets, max_lag: int
) -> Probe:
    """The live generation of ``read_model`` is at most ``max_lag`` events behind its topics."""

    async def probe() -> CheckOutcome:
        ends = await offsets.end_offsets()
        handled: Offsets = await read_model.checkpoint_offsets(
            await read_model.active_generation_required()
        )
        applied = {tp: offset + 1 for tp, offset in handled.items()}
        return lag_outcome(ends, applied, topics, max_lag)

    return probe


def inbox_lag_probe(
    group_id: str, topics: Sequence[str], offsets: KafkaOffsets, max_lag: int
) -> Probe:
    """The inbox's consumer group is at most ``max_lag`` events behind its topics."""

    async def probe() -> CheckOutcome:
        ends = await offsets.end_offsets()
        return lag_outcome(ends, await offsets.committed(group_id), topics, max_lag)

    return probe


def upstream_probe(
    http: httpx.AsyncClient, url: str, *, timeout: float, optional: bool = False
) -> Probe:
    """Another process's readiness (``GET url``, within ``timeout`` seconds): ready when it
    answers 200; otherwise the detail names its failing checks. An ``optional`` one never
    fails the check (it says so)."""

    async def probe() -> CheckOutcome:
        try:
            ok, detail = await _upstream_ready(http, url, timeout)
        except httpx.HTTPError as exc:
            ok, detail = False, f"not reachable ({type(exc).__name__})"
        if optional and not ok:
            return True, f"optional, {detail}"
        return ok, detail

    return probe


async def _upstream_ready(http: httpx.AsyncClient, url: str, timeout: float) -> CheckOutcome:
    response = await http.get(url, timeout=timeout)
    if response.status_code == 200:
        return True, "ready"
    try:
        body = response.json()
        failing = [str(c["name"]) for c in body.get("checks", []) if not c.get("ok")]
    except (ValueError, AttributeError, KeyError, TypeError):
        failing = []
    named = f": {', '.join(failing)} failing" if failing else ""
    return False, f"answered {response.status_code}{named}"

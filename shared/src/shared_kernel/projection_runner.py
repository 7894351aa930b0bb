"""Runs a projection against Kafka: a consumer group member that hands each fetch to a
``ProjectionWriter`` (``projections``) for the live read-model generation, follows a rebuild's
switch to a new generation, and commits the group's offsets as a hint (the database checkpoints
decide where a new owner of a partition starts: ``_SeekToCheckpoints``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError

from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.projections import DeadLetters, GenerationSwitched, Projection, ProjectionWriter
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.tracing import Tracer

log = logging.getLogger(__name__)


def gathering(gather_ms: int) -> dict[str, int]:
    """Consumer settings by which the broker holds a fetch up to ``gather_ms`` (or until a
    partition's worth of records is there); none for 0: aiokafka's defaults answer at once."""
    if gather_ms <= 0:
        return {}
    return {"fetch_max_wait_ms": gather_ms, "fetch_min_bytes": GATHER_MIN_BYTES}


# Enough records that a fetch holding them is answered before ``gather_ms``: aiokafka's
# default largest fetch of one partition.
GATHER_MIN_BYTES = 1_048_576


class _OffsetHints:
    """Commits the consumer group's offsets, only a hint (the database checkpoint decides
    where a new owner starts): at most once a second while records flow, at once when the
    consumer is idle. Committing after every fetch cost a broker round trip per fetch in the
    apply loop, and with it command -> read model lag."""

    INTERVAL = 1.0

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._pending: dict[TopicPartition, int] = {}
        self._next = 0.0

    def applied(
        self, batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        for tp, records in batches.items():
            self._pending[tp] = records[-1].offset + 1

    async def commit_due(self, *, idle: bool) -> None:
        now = asyncio.get_running_loop().time()
        if not self._pending or (not idle and now < self._next):
            return
        owned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in self._pending.items() if tp in owned}
        self._pending.clear()
        self._next = now + self.INTERVAL
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.info("offset hints for %s not committed: %s", sorted(offsets), exc)


class _SeekToCheckpoints(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._runner.seek_to_checkpoints(assigned)


class ProjectionRunner:
    """Runs a projection in a consumer group against the live read-model generation, and
    follows a switch to a new generation made by a rebuild. ``run`` is one run; a
    ``Supervisor`` restarts it after a failure."""

    def __init__(
        self,
        projection: Projection,
        read_model: ReadModelStore,
        bootstrap_servers: KafkaTarget,
        group_id: str,
        dead: DeadLetters,
        *,
        max_records: int = 2000,
        tracer: Tracer | None = None,
    ) -> None:
        self.projection = projection
        self.read_model = read_model
        self._tracer = tracer
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._dead = dead
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self.writer: ProjectionWriter | None = None

    async def seek_to_checkpoints(self, partitions: Sequence[TopicPartition]) -> None:
        assert self._consumer is not None and self.writer is not None
        for tp in partitions:
            checkpoint = await self.writer.checkpoint(tp)
            if checkpoint is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, checkpoint.kafka_offset + 1)

    async def run(self) -> None:
        """One run: project until cancelled or until a failure (database or broker away) ends
        it. Run it under a ``Supervisor``, which restarts it with back-off; the database
        checkpoints make the restart exact."""
        generation = await self.read_model.ensure_live()
        self.writer = self._writer(generation)
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._bootstrap),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_records,
            **gathering(self.projection.gather_ms),
        )
        self._consumer = consumer
        consumer.subscribe(list(self.projection.topics), listener=_SeekToCheckpoints(self))
        try:
            # Inside the try: a cancel while starting must still close the consumer.
            await consumer.start()
            await self._loop(consumer)
        finally:
            self._consumer = None
            await consumer.stop()

    async def lag(self) -> dict[TopicPartition, int]:
        """Per partition of its topics: the Kafka end offset minus the next offset the live
        read model will apply (its checkpoint's, written with the rows). Empty while the
        consumer is not running. For ``/metrics``: a few reads, never in the apply loop."""
        consumer = self._consumer
        if consumer is None:
            return {}
        partitions = [
            TopicPartition(topic, p)
            for topic in self.projection.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}
        ends = await consumer.end_offsets(partitions)
        cp = self.read_model.checkpoints
        async with self.read_model.reading() as conn:
            rows = await conn.execute(sa.select(cp.c.topic, cp.c.partition, cp.c.kafka_offset))
            applied = {TopicPartition(t, int(p)): int(o) + 1 for t, p, o in rows}
        missing = [tp for tp in partitions if tp not in applied]
        if missing:  # nothing applied yet: all that the topic still holds is ahead
            applied.update(await consumer.beginning_offsets(missing))
        return {tp: max(0, end - applied[tp]) for tp, end in ends.items()}

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        next_generation_check = 0.0
        hints = _OffsetHints(consumer)
        while True:
            if loop.time() >= next_generation_check:
                await self._follow_switch(consumer)
                next_generation_check = loop.time() + 1.0
            batches = await consumer.getmany(timeout_ms=100, max_records=self._max_records)
            assert self.writer is not None
            # Revoked during the fetch: their new owner applies them.
            owned = {tp: records for tp, records in batches.items() if tp in consumer.assignment()}
            if owned:
                try:
                    await self.writer.write_many(owned)
                except GenerationSwitched:
                    # Seeks every partition to the new generation's checkpoints: the records
                    # fetched for the old one are fetched again.
                    await self._follow_switch(consumer)
                    continue
                hints.applied(owned)
            await hints.commit_due(idle=not owned)

    async def _follow_switch(self, consumer: AIOKafkaConsumer) -> None:
        active = await self.read_model.active_generation()
        if self.writer is None or active is None or active == self.writer.generation:
            return
        log.info("projection %s follows switch to generation %s", self.projection.name, active)
        self.writer = self._writer(active)
        await self.seek_to_checkpoints(list(consumer.assignment()))

    def _writer(self, generation: int) -> ProjectionWriter:
        return ProjectionWriter(
            self.projection, self.read_model, generation, self._dead, tracer=self._tracer
        )

"""Projections: Kafka events in, read-model rows out, exactly once in effect.

Order and progress come from Kafka offsets, which the broker assigns: for each fetch (batches of
one or more topic partitions), the read-model change and each partition's checkpoint (the last
Kafka offset handled) are written in ONE database transaction, and a record at or below the
checkpoint is skipped, so a redelivery after a crash or rebalance changes nothing. The
``position`` inside a message is information, never control: a foreign message with any
position cannot make later events look old. The relay may publish an event twice (same id,
new offset; see ``outbox``): the batch claims its event ids in the generation's
``projection_applied_events`` table in the same transaction, and only ids claimed now are
applied. Kafka offset commits are only a hint.

A batch is first applied as a whole (fast, set-based); if that fails, its events are applied
one by one, each in a savepoint, and an event that still fails (a "poison" event) goes to the
dead-letter topic with its error while the runner moves on.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared_kernel.bulk_rows import FILLING
from shared_kernel.dead_letter_notices import DeadLetterNotices, is_notices_topic
from shared_kernel.envelope import EnvelopeError, EventEnvelope
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.metrics import DEAD_LETTERS
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.schema import read_model_generations
from shared_kernel.tracing import Tracer, consuming

log = logging.getLogger(__name__)


class Projection(ABC):
    """A read-model builder: its name, the topics it reads, its tables, and how events apply.

    Tables are declared in ``metadata`` with ``schema=READ_MODEL_SCHEMA``. ``apply`` must be a
    pure function of the event and the current rows: no side effects outside the connection,
    so that replays and rebuilds never act twice."""

    name: str
    topics: Sequence[str]
    metadata: sa.MetaData
    #: May a rebuild write batches of different partitions in concurrent transactions? Only
    #: for a projection whose every write is an insert of new rows or a single statement whose
    #: effect does not depend on the order (additive upserts, ``greatest``): a read in Python
    #: followed by a write could lose a concurrent batch's change.
    parallel_fill: bool = False
    #: Milliseconds the broker may hold a fetch to gather more records before answering (0:
    #: answer as soon as there is one). For a projection whose readers can wait that long: a
    #: record per request, each in a transaction of its own, costs its writer more than the
    #: records themselves; gathered, a few transactions carry them all.
    gather_ms: int = 0

    @abstractmethod
    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None: ...

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        """Apply several events in order; override with set-based SQL for speed."""
        for event in events:
            await self.apply(conn, event)

    def envelope_of(self, raw: bytes) -> EventEnvelope:
        """A record's envelope; override to read older shapes of a topic's records (raise
        ``EnvelopeError`` for what cannot be read: it is dead-lettered)."""
        return EventEnvelope.from_json_bytes(raw)


class DeadLetters:
    """Sends events a consumer cannot apply to a dead-letter topic, with the reason; with
    ``notices``, also announces each one (and a consumer's recovery) as a CloudEvent (see
    ``dead_letter_notices``)."""

    _notices: DeadLetterNotices | None = None

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        notices: DeadLetterNotices | None = None,
        *,
        service: str = "",
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._notices = notices
        self._service = service  # the ``service`` label of the dead-letter metric

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        headers = [
            ("dlq.projection", projection.encode()),
            ("dlq.error", error[:2000].encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(
            self._topic, value=record.value, key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(self._service, projection, record.topic).inc()
        log.error(
            "dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, error
        )
        # A notice its reader cannot handle raises no notice of its own: no loop of notices.
        if self._notices is not None and not is_notices_topic(record.topic):
            await self._notices.dead_lettered(projection, record, error, self._topic)

    async def recovered(self, consumer: str, *, how: str, detail: str, run: str) -> None:
        """Announce that ``consumer`` has handled what it dead-lettered after all."""
        if self._notices is not None:
            await self._notices.recovered(consumer, how=how, detail=detail, run=run)


class GenerationSwitched(Exception):
    """The generation a live writer applies to is no longer the one readers read."""

    def __init__(self, read_model: str, generation: int, active: int | None) -> None:
        super().__init__(f"read model {read_model}: generation {generation} is not live ({active})")


@dataclass(frozen=True)
class Checkpoint:
    kafka_offset: int
    position: int


#: True when a record (topic partition, offset) was handled, and so dead-lettered if it was
#: poison, by another generation: a rebuild does not send it to the dead-letter topic again.
HandledElsewhere = Callable[[TopicPartition, int], Awaitable[bool]]

Fresh = list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope]]


class ProjectionWriter:
    """Applies batches of one partition to one generation of the read model.

    A live writer (``live=True``) holds the read model's pointer row ``FOR SHARE`` in each
    batch, so that a rebuild's switch (which locks it ``FOR UPDATE``) sees every live batch
    either entirely before or entirely after it; after a switch it refuses to write to the
    generation readers have left (``GenerationSwitched``)."""

    def __init__(
        self,
        projection: Projection,
        read_model: ReadModelStore,
        generation: int,
        dead: DeadLetters,
        *,
        live: bool = True,
        handled_elsewhere: HandledElsewhere | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.projection = projection
        self.read_model = read_model
        self.generation = generation
        self._dead = dead
        self._live = live
        self._handled_elsewhere = handled_elsewhere
        # Live writers trace what they apply (``tracing.consuming``); rebuilds do not.
        self._tracer = tracer
        self._schema = read_model.schema(generation)
        self._claim = _claim_statement(read_model.applied_events)
        self.applied = 0
        self.poisoned = 0  # records it could not apply, dead-lettered here or not

    async def checkpoint(self, tp: TopicPartition) -> Checkpoint | None:
        async with self.read_model.engine.connect() as raw:
            conn = await self._translated(raw)
            row = await conn.execute(self._checkpoint_query(tp))
            found = row.first()
        return Checkpoint(found.kafka_offset, found.position) if found else None

    async def write(
        self, tp: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        await self.write_many({tp: records})

    async def write_many(
        self, batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """Apply the batches of several partitions (one fetch) in ONE transaction: one
        generation check, one checkpoint read and one write for all of them, one claim, one
        ``apply_batch``. Partitions are independent orders, so their events are applied
        side by side (each partition's in offset order). Measured: a transaction per
        partition made a fetch of six partitions cost six times the round trips, and under
        load each round trip waits its turn in the event loop behind the requests: the
        command -> read model lag's p50 was 0.5-0.7 s at half load."""
        batches = {tp: records for tp, records in batches.items() if records}
        if not batches:
            return
        async with self.read_model.engine.begin() as raw:
            conn = await self._translated(raw)
            if self._live:
                active = (
                    await conn.execute(
                        sa.select(read_model_generations.c.active)
                        .where(read_model_generations.c.projection == self.read_model.name)
                        .with_for_update(read=True)
                    )
                ).scalar_one_or_none()
                if active != self.generation:
                    # Readers left this generation (a later rebuild may drop it): the runner
                    # follows the switch and applies the batch there.
                    raise GenerationSwitched(self.read_model.name, self.generation, active)
            checkpoints = await self._locked_checkpoints(conn, list(batches))
            decoded: Fresh = []
            rows: list[dict[str, object]] = []
            for tp, records in batches.items():
                checkpoint = checkpoints.get((tp.topic, tp.partition), Checkpoint(-1, 0))
                high = checkpoint.position
                for record in records:
                    if record.offset <= checkpoint.kafka_offset:
                        continue  # redelivered: this generation has handled it
                    try:
                        envelope = self.projection.envelope_of(record.value or b"")
                    except EnvelopeError as exc:
                        await self._dead_letter(record, f"undecodable: {exc}")
                        continue
                    decoded.append((record, envelope))
                    high = max(high, envelope.position)
                # Position is information only (the highest seen): it decides nothing.
                rows.append(
                    {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "kafka_offset": records[-1].offset,
                        "position": high,
                    }
                )
            fresh = await self._claimed(conn, decoded)
            with consuming(self._tracer, self.projection.name, (e for _, e in fresh)):
                await self._apply(conn, fresh)
            upsert = pg_insert(self.read_model.checkpoints)
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["topic", "partition"],
                    set_={
                        "kafka_offset": upsert.excluded.kafka_offset,
                        "position": upsert.excluded.position,
                    },
                ),
                rows,
            )

    async def _locked_checkpoints(
        self, conn: AsyncConnection, tps: list[TopicPartition]
    ) -> dict[tuple[str, int], Checkpoint]:
        """The checkpoints of ``tps``, locked for this transaction (one statement)."""
        cp = self.read_model.checkpoints
        wanted = sa.tuple_(cp.c.topic, cp.c.partition).in_([(tp.topic, tp.partition) for tp in tps])
        query = (
            sa.select(cp.c.topic, cp.c.partition, cp.c.kafka_offset, cp.c.position)
            .where(wanted)
            .order_by(cp.c.topic, cp.c.partition)  # one lock order for every writer
            .with_for_update()
        )
        return {
            (row.topic, row.partition): Checkpoint(row.kafka_offset, row.position)
            for row in await conn.execute(query)
        }

    async def _claimed(self, conn: AsyncConnection, decoded: Fresh) -> Fresh:
        """The records whose event ids this batch claims now, first occurrence only: a relay
        duplicate (same id at a later offset, in this batch or an earlier one) is dropped."""
        if not decoded:
            return []
        ids = list(dict.fromkeys(envelope.id for _, envelope in decoded))
        claimed: set[UUID] = {row.event_id for row in await conn.execute(self._claim, {"ids": ids})}
        fresh: Fresh = []
        for record, envelope in decoded:
            if envelope.id in claimed:
                claimed.discard(envelope.id)
                fresh.append((record, envelope))
            else:
                log.debug("%s: event %s applied before; skipped", self.projection.name, envelope.id)
        return fresh

    async def _apply(self, conn: AsyncConnection, fresh: Fresh) -> None:
        if not fresh:
            return
        try:
            async with conn.begin_nested():
                await self.projection.apply_batch(conn, [e for _, e in fresh])
            self.applied += len(fresh)
            return
        except Exception:
            log.warning(
                "batch of %d failed in %s; applying one by one", len(fresh), self.projection.name
            )
        for record, envelope in fresh:
            try:
                async with conn.begin_nested():
                    await self.projection.apply(conn, envelope)
                self.applied += 1
            except Exception as exc:  # a poison event must not stop the projection
                await self._dead_letter(record, f"{type(exc).__name__}: {exc}")

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        self.poisoned += 1
        tp = TopicPartition(record.topic, record.partition)
        if self._handled_elsewhere is not None and await self._handled_elsewhere(tp, record.offset):
            log.info(
                "%s: %s[%s]@%s not dead-lettered again (handled by the live generation): %s",
                self.projection.name, record.topic, record.partition, record.offset, error,
            )  # fmt: skip
            return
        await self._dead.send(self.projection.name, record, error)

    def _checkpoint_query(self, tp: TopicPartition) -> sa.Select[tuple[int, int]]:
        cp = self.read_model.checkpoints
        return sa.select(cp.c.kafka_offset, cp.c.position).where(
            cp.c.topic == tp.topic, cp.c.partition == tp.partition
        )

    async def _translated(self, conn: AsyncConnection) -> AsyncConnection:
        # A generation that is not live has no reader yet: it is being filled (``FILLING``
        # lets a projection COPY its insert-only rows, see ``bulk_rows``).
        return await conn.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: self._schema}, **{FILLING: not self._live}
        )


def gathering(gather_ms: int) -> dict[str, int]:
    """Consumer settings by which the broker holds a fetch up to ``gather_ms`` (or until a
    partition's worth of records is there); none for 0: aiokafka's defaults answer at once."""
    if gather_ms <= 0:
        return {}
    return {"fetch_max_wait_ms": gather_ms, "fetch_min_bytes": GATHER_MIN_BYTES}


# Enough records that a fetch holding them is answered before ``gather_ms``: aiokafka's
# default largest fetch of one partition.
GATHER_MIN_BYTES = 1_048_576


def _claim_statement(applied_events: sa.Table) -> sa.Insert:
    """One statement for any number of ids (an array, unnested), like the inbox's claim."""
    return (
        pg_insert(applied_events)
        .from_select(
            ["event_id"],
            sa.select(sa.func.unnest(sa.bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))),
        )
        .on_conflict_do_nothing()
        .returning(applied_events.c.event_id)
    )


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
        while True:
            if loop.time() >= next_generation_check:
                await self._follow_switch(consumer)
                next_generation_check = loop.time() + 1.0
            batches = await consumer.getmany(timeout_ms=100, max_records=self._max_records)
            assert self.writer is not None
            # Revoked during the fetch: their new owner applies them.
            owned = {tp: records for tp, records in batches.items() if tp in consumer.assignment()}
            if not owned:
                continue
            try:
                await self.writer.write_many(owned)
            except GenerationSwitched:
                # Seeks every partition to the new generation's checkpoints: the records
                # fetched for the old one are fetched again.
                await self._follow_switch(consumer)
                continue
            try:
                # Only a hint (the database checkpoint decides), only for partitions we own.
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in owned.items()})
            except (CommitFailedError, IllegalStateError) as exc:
                log.info("offset hints for %s not committed: %s", sorted(owned), exc)

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

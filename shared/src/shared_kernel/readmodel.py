"""Read models in generations, so that a rebuild never disturbs readers.

A projection declares its tables in a MetaData under the placeholder schema ``read_model``.
Each generation lives in a PostgreSQL schema of its own (``<projection>_g<N>``); SQLAlchemy's
``schema_translate_map`` points the placeholder at the live one. A rebuild fills generation
N+1 beside the live N and switches the pointer in one transaction once it has caught up.
The generation's checkpoint table and its table of applied event ids sit in the same schema,
so they are rebuilt with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from shared_kernel.kafka import topic_partitions
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.schema import outbox_cursor, read_model_generations

log = logging.getLogger(__name__)

READ_MODEL_SCHEMA = "read_model"
# The two-key advisory lock space (``hashtext(scope)``, ``hashtext(projection)``) in which the
# replicas of a service take turns to create or complete a projection's live generation.
_DDL_LOCK_SCOPE = "read-model-ddl"

#: the last Kafka offset handled, per topic partition
Offsets = dict[TopicPartition, int]
#: applies a generation up to the given offsets (see ``ReadModelStore.switch_when_caught_up``)
CatchUp = Callable[[Offsets], Awaitable[None]]


def _behind(done: Offsets, targets: Offsets) -> Offsets:
    return {tp: target for tp, target in targets.items() if done.get(tp, -1) < target}


def _indexes(table: sa.Table, *, unique: bool) -> list[sa.Index]:
    """The table's explicit indexes (``sa.Index``, ``index=True``), unique ones or the others,
    by name (a stable order)."""
    return sorted((i for i in table.indexes if bool(i.unique) == unique), key=lambda i: str(i.name))


def checkpoint_table(metadata: sa.MetaData) -> sa.Table:
    """Per topic partition: the last Kafka offset handled (the progress) and the highest event
    position seen (information only: an envelope field never decides what is applied)."""
    return sa.Table(
        "projection_checkpoints",
        metadata,
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        schema=READ_MODEL_SCHEMA,
        extend_existing=True,
    )


def applied_events_table(metadata: sa.MetaData) -> sa.Table:
    """The ids of the events applied to a generation: a relay duplicate (the same event
    published again at a new offset) finds its id here and is not applied twice."""
    return sa.Table(
        "projection_applied_events",
        metadata,
        sa.Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
        schema=READ_MODEL_SCHEMA,
        extend_existing=True,
    )


class ReadModelStore:
    """Generations of one projection's read model: create, switch, read, wait."""

    def __init__(self, engine: AsyncEngine, name: str, metadata: sa.MetaData) -> None:
        self.engine = engine
        self.name = name
        self.metadata = metadata
        self.checkpoints = checkpoint_table(metadata)
        self.applied_events = applied_events_table(metadata)

    def schema(self, generation: int) -> str:
        return f"{self.name}_g{generation}"

    async def active_generation(self) -> int | None:
        async with self.engine.connect() as conn:
            row = await conn.execute(
                sa.select(read_model_generations.c.active).where(
                    read_model_generations.c.projection == self.name
                )
            )
            return row.scalar_one_or_none()

    async def create_generation(self, generation: int, *, deferred_indexes: bool = False) -> None:
        """(Re)create an empty generation schema with the projection's tables.

        With ``deferred_indexes`` (a rebuild's fill), the secondary indexes that check nothing
        (not unique) are left out: a fill then writes only the tables, their primary keys and
        unique constraints, and ``build_indexes`` creates the rest in one sort each before
        readers come."""
        schema = self.schema(generation)
        async with self.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        if not deferred_indexes:
            await self._create_tables(schema)
            return
        async with self.engine.begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: schema}
            )
            for table in self.metadata.sorted_tables:
                await translated.execute(CreateTable(table))
                for index in _indexes(table, unique=True):
                    await translated.execute(CreateIndex(index))

    async def build_indexes(self, generation: int) -> None:
        """Create the secondary indexes ``create_generation(deferred_indexes=True)`` left out
        (those already there are kept)."""
        async with self.engine.begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: self.schema(generation)}
            )
            # Room to sort a large table's index in memory, for this transaction only.
            await translated.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
            for table in self.metadata.sorted_tables:
                for index in _indexes(table, unique=False):
                    await translated.execute(CreateIndex(index, if_not_exists=True))

    async def _create_tables(self, schema: str) -> None:
        async with self.engine.begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: schema}
            )
            await translated.run_sync(self.metadata.create_all)

    async def ensure_live(self) -> int:
        """The live generation, creating generation 1 on first start.

        Replicas of a service start side by side and each ensures the same read models: one
        at a time (a session advisory lock per projection). Unserialised, two found no
        generation and both created one (the second dropped the schema the first was already
        filling, whose runner then went on from offsets held in memory: events lost), or ran
        ``CREATE TABLE`` together (a duplicate key in ``pg_type``, a failed start)."""
        async with self.engine.connect() as turn:
            try:
                await turn.execute(
                    sa.text("SELECT pg_advisory_lock(hashtext(:scope), hashtext(:name))"),
                    {"scope": _DDL_LOCK_SCOPE, "name": self.name},
                )
                await turn.commit()
                return await self._ensure_live()
            finally:
                # Closed rather than pooled: that releases the lock (as a process that dies
                # here releases it with its connection).
                await turn.invalidate()

    async def _ensure_live(self) -> int:
        active = await self.active_generation()
        if active is not None:
            # A generation made by an older version lacks tables added since (such as
            # ``projection_applied_events``): create the missing ones, leave the rest alone.
            await self._create_tables(self.schema(active))
            return active
        await self.create_generation(1)
        async with self.engine.begin() as conn:
            await conn.execute(
                pg_insert(read_model_generations)
                .values(projection=self.name, active=1)
                .on_conflict_do_nothing()
            )
        return await self.active_generation() or 1

    async def switch_when_caught_up(
        self, generation: int, catch_up: CatchUp, *, attempts: int = 5
    ) -> None:
        """Make ``generation`` live once it has applied, on every partition, at least what the
        live generation has: a reader never sees an older state than it saw before.

        ``catch_up(targets)`` applies the new generation up to the given Kafka offsets. It runs
        first without a lock while the live runner goes on; then ONE transaction locks the live
        pointer row (every live batch holds it ``FOR SHARE``, see ``ProjectionWriter``: locking
        the pointer also covers a partition whose first checkpoint row the live runner is just
        inserting), compares the checkpoints again and switches. When the live runner moved on
        meanwhile, the lock is released and the rebuild catches up again; the last attempt
        catches up the few remaining records while holding the lock, so a rebuild under
        constant load still ends (the live runner waits for that moment only)."""
        for attempt in range(1, attempts + 1):
            await catch_up(await self.checkpoint_offsets(await self.active_generation_required()))
            async with self.engine.begin() as conn:
                live = (
                    await conn.execute(
                        sa.select(read_model_generations.c.active)
                        .where(read_model_generations.c.projection == self.name)
                        .with_for_update()
                    )
                ).scalar_one()
                targets = await self._offsets(conn, live)
                behind = _behind(await self._offsets(conn, generation), targets)
                if behind and attempt < attempts:
                    log.info("read model %s: live moved on (%s); catching up", self.name, behind)
                    continue
                if behind:
                    await catch_up(targets)
                await conn.execute(
                    sa.update(read_model_generations)
                    .where(read_model_generations.c.projection == self.name)
                    .values(active=generation, switched_at=sa.func.now())
                )
                return

    async def active_generation_required(self) -> int:
        active = await self.active_generation()
        if active is None:
            raise RuntimeError(f"read model {self.name} has not been created yet")
        return active

    async def checkpoint_offsets(self, generation: int) -> Offsets:
        """The last Kafka offset each partition of ``generation`` has handled."""
        async with self.engine.connect() as conn:
            return await self._offsets(conn, generation)

    async def _offsets(self, conn: AsyncConnection, generation: int) -> Offsets:
        translated = await conn.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: self.schema(generation)}
        )
        cp = self.checkpoints
        rows = await translated.execute(sa.select(cp.c.topic, cp.c.partition, cp.c.kafka_offset))
        return {TopicPartition(t, int(p)): int(o) for t, p, o in rows.all()}

    async def drop_generations_except(self, keep: set[int]) -> None:
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :pattern"),
                {"pattern": f"{self.name}_g%"},
            )
            for (schema,) in rows.all():
                suffix = schema.rsplit("_g", 1)[1]
                if suffix.isdigit() and int(suffix) not in keep:
                    await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose ``read_model`` tables are those of the live generation: one
        connection checked out, the generation and the data read on it.

        The connection runs in autocommit: no BEGIN and ROLLBACK around the reads, two round
        trips of a simple read's four. At READ COMMITTED every statement takes its own
        snapshot anyway, inside a transaction or not, so a read sees exactly what it did."""
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            generation = (
                await conn.execute(
                    sa.select(read_model_generations.c.active).where(
                        read_model_generations.c.projection == self.name
                    )
                )
            ).scalar_one_or_none()
            if generation is None:
                raise RuntimeError(f"read model {self.name} has not been created yet")
            yield await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: self.schema(generation)}
            )

    async def applied_position(self, topic: str, partition: int) -> int:
        async with self.reading() as conn:
            row = await conn.execute(
                sa.select(self.checkpoints.c.position).where(
                    self.checkpoints.c.topic == topic, self.checkpoints.c.partition == partition
                )
            )
            return int(row.scalar_one_or_none() or 0)


class PositionWaiter:
    """Read your writes: wait, for a bounded time, until the live read model has applied every
    event of this service up to a given global position, across all partitions.

    Events of one command's consequences sit on several partitions (an entry's partition is
    not its accounts'), so waiting on one partition is not enough. The relay publishes in
    position order, so once its cursor has passed the position, the topic's end offsets cover
    every event up to it; the wait ends when each partition's checkpoint has reached them."""

    def __init__(
        self, read_model: ReadModelStore, topic: str, bootstrap_servers: KafkaTarget
    ) -> None:
        self._read_model = read_model
        self._topic = topic
        self._bootstrap = bootstrap_servers
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        count = await topic_partitions(self._bootstrap, self._topic)
        self._partitions = [TopicPartition(self._topic, p) for p in range(count)]
        self._consumer = AIOKafkaConsumer(
            **client_kwargs(self._bootstrap), group_id=None, enable_auto_commit=False
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def wait_for(self, position: int, timeout: float) -> bool:
        if position <= 0:
            return True
        if self._consumer is None:
            return False
        deadline = time.monotonic() + timeout
        if not await self._poll(lambda: self._published_beyond(position), deadline):
            return False
        consumer = self._consumer
        ends: dict[TopicPartition, int] = {}

        async def know_ends() -> bool:
            # A consumer that has not yet seen a brand-new topic's metadata may answer for
            # none (or some) of its partitions: that is no proof that nothing is left to apply.
            nonlocal ends
            try:
                ends = await consumer.end_offsets(self._partitions)
            except KafkaError as exc:
                log.debug("end offsets of %s not known yet: %s", self._topic, exc)
                return False
            return all(tp in ends for tp in self._partitions)

        if not await self._poll(know_ends, deadline):
            return False
        return await self._poll(lambda: self._applied_up_to(ends), deadline)

    async def _published_beyond(self, position: int) -> bool:
        async with self._read_model.engine.connect() as conn:
            row = await conn.execute(sa.select(sa.func.max(outbox_cursor.c.position)))
            return int(row.scalar_one_or_none() or 0) >= position

    async def _applied_up_to(self, ends: dict[TopicPartition, int]) -> bool:
        checkpoints = self._read_model.checkpoints
        async with self._read_model.reading() as conn:
            rows = await conn.execute(
                sa.select(checkpoints.c.partition, checkpoints.c.kafka_offset).where(
                    checkpoints.c.topic == self._topic
                )
            )
            applied = {int(p): int(o) for p, o in rows}
        return all(end == 0 or applied.get(tp.partition, -1) >= end - 1 for tp, end in ends.items())

    @staticmethod
    async def _poll(check: Callable[[], Awaitable[bool]], deadline: float) -> bool:
        delay = 0.005
        while True:
            if await check():
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

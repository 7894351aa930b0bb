"""Read models in generations, so that a rebuild never disturbs readers.

A projection declares its tables in a MetaData under the placeholder schema ``read_model``.
Each generation lives in a PostgreSQL schema of its own (``<projection>_g<N>``); SQLAlchemy's
``schema_translate_map`` points the placeholder at the live one. A rebuild fills generation
N+1 beside the live N and switches the pointer in one transaction once it has caught up.
The generation's checkpoint table sits in the same schema, so it is rebuilt with it.
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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared_kernel.kafka import topic_partitions
from shared_kernel.schema import outbox_cursor, read_model_generations

log = logging.getLogger(__name__)

READ_MODEL_SCHEMA = "read_model"


def checkpoint_table(metadata: sa.MetaData) -> sa.Table:
    """Per topic partition: the Kafka offset and the highest event position applied."""
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


class ReadModelStore:
    """Generations of one projection's read model: create, switch, read, wait."""

    def __init__(self, engine: AsyncEngine, name: str, metadata: sa.MetaData) -> None:
        self.engine = engine
        self.name = name
        self.metadata = metadata
        self.checkpoints = checkpoint_table(metadata)

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

    async def create_generation(self, generation: int) -> None:
        """(Re)create an empty generation schema with the projection's tables."""
        schema = self.schema(generation)
        async with self.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: schema}
            )
            await translated.run_sync(self.metadata.create_all)

    async def ensure_live(self) -> int:
        """The live generation, creating generation 1 on first start."""
        active = await self.active_generation()
        if active is not None:
            return active
        await self.create_generation(1)
        async with self.engine.begin() as conn:
            await conn.execute(
                pg_insert(read_model_generations)
                .values(projection=self.name, active=1)
                .on_conflict_do_nothing()
            )
        return await self.active_generation() or 1

    async def switch_to(self, generation: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(read_model_generations)
                .where(read_model_generations.c.projection == self.name)
                .values(active=generation, switched_at=sa.func.now())
            )

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
        connection checked out, the generation and the data read on it."""
        async with self.engine.connect() as conn:
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

    def __init__(self, read_model: ReadModelStore, topic: str, bootstrap_servers: str) -> None:
        self._read_model = read_model
        self._topic = topic
        self._bootstrap = bootstrap_servers
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        count = await topic_partitions(self._bootstrap, self._topic)
        self._partitions = [TopicPartition(self._topic, p) for p in range(count)]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False
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

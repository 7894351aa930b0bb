"""The outbox relay: publishes every committed event, and only committed events, to Kafka.

The events table is the outbox. Positions commit out of order and may have gaps (see
``eventstore``); the relay reads only the run after its cursor that no running transaction can
still fill in before (``relay_order``), so it never skips a late commit. The relay sends a batch
in position order with an idempotent ``acks=all`` producer, waits for every acknowledgement,
then moves its cursor. A crash between send and cursor update re-sends that batch on restart:
at-least-once; consumers drop such duplicates by event id (see ``projections`` and ``inbox``),
never by the ``position`` inside a message, which is information for readers, not control.
Everything at or below the cursor is published or proven never to commit. The transaction that
moves the cursor also extends the seal chain over what was published (``sealing``).
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kernel.eventstore import EventStore
from shared_kernel.kafka import partition_for
from shared_kernel.relay_order import OrderedReader
from shared_kernel.schema import outbox_cursor
from shared_kernel.sealing import SealChain

RELAY_LOCK_KEY = 0x0BAC_0FF1CF


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        partitions: int,
        *,
        name: str = "kafka",
        batch_size: int = 1000,
        idle_sleep: float = 0.02,
    ) -> None:
        self._engine = engine
        self._store = store
        self._producer = producer
        self._topic = topic
        self._partitions = partitions
        self._name = name
        self._batch_size = batch_size
        self._idle_sleep = idle_sleep
        self.published = 0
        self._cursor: int | None = None  # held in memory: only the leader moves it
        self._order = OrderedReader(engine, store)
        self._seals = SealChain()

    async def cursor(self) -> int:
        async with self._engine.connect() as conn:
            row = await conn.execute(
                sa.select(outbox_cursor.c.position).where(outbox_cursor.c.relay == self._name)
            )
            return int(row.scalar_one_or_none() or 0)

    async def publish_once(self) -> int:
        """Publish the next batch after the cursor; returns how many events went out."""
        if self._cursor is None:
            self._cursor = await self.cursor()
            async with self._engine.connect() as conn:
                await self._seals.load(conn)
        batch = await self._order.read_after(self._cursor, self._batch_size)
        if not batch:
            return 0
        acks = [
            await self._producer.send(
                self._topic,
                value=envelope.to_json_bytes(raw_data),
                key=envelope.subject.encode(),
                partition=partition_for(envelope.subject, self._partitions),
                headers=[("content-type", b"application/cloudevents+json")],
            )
            for envelope, raw_data in batch
        ]
        await asyncio.gather(*acks)
        last = batch[-1][0].position
        async with self._engine.begin() as conn:
            await self._seals.extend(conn, [envelope.position for envelope, _ in batch])
            await conn.execute(
                pg_insert(outbox_cursor)
                .values(relay=self._name, position=last)
                .on_conflict_do_update(
                    index_elements=[outbox_cursor.c.relay],
                    set_={"position": last, "updated_at": sa.func.now()},
                )
            )
        self._cursor = last
        self.published += len(batch)
        return len(batch)

    async def run(self) -> None:
        """One run: publish until cancelled or until a failure ends it (run it under a
        ``Supervisor``, which restarts it with back-off).

        Only one relay per database may publish (two would interleave batches on a partition
        and break position order), so it first takes a session advisory lock and holds it on a
        dedicated connection; a standby waits. A killed relay's lock dies with its connection,
        and so does a failed run's: the cursor is read again once leadership is regained."""
        self._cursor = None
        async with self._engine.connect() as leadership:
            while not (
                await leadership.execute(sa.select(sa.func.pg_try_advisory_lock(RELAY_LOCK_KEY)))
            ).scalar():
                await leadership.rollback()
                await asyncio.sleep(1.0)
            await leadership.commit()
            while True:
                if await self.publish_once() == 0:
                    await asyncio.sleep(self._idle_sleep)

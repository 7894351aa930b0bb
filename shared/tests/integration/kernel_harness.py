"""Helpers for the kernel's integration tests: kernel tables in a fresh database, appending
events, reading a whole topic, folding the event store, bounded waits, worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from kernel_totals_projection import KernelTotals, Totals, stream_totals
from shared_kernel import schema
from shared_kernel.db import create_engine
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.eventstore import (
    EventMetadata,
    EventStore,
    NewEvent,
    PostgresEventStore,
    StreamAppend,
)
from shared_kernel.kafka import create_producer
from shared_kernel.outbox import OutboxRelay
from shared_kernel.projection_runner import ProjectionRunner
from shared_kernel.projections import DeadLetters
from shared_kernel.readmodel import ReadModelStore
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).parent
SOURCE = "/kernel"
EVENT_TYPE = "kernel.ValueRecorded"
STREAM_TYPE = "counter"


@dataclass(frozen=True)
class KernelTopics:
    events: str
    dead_letters: str
    partitions: int
    namespace: str


async def create_kernel_tables(database_url: str) -> None:
    """The kernel's tables and the immutability triggers, as a service's first migration
    creates them (without depending on any service's migrations)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(schema.metadata.create_all)
            for statement in schema.IMMUTABILITY_DDL:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def metadata_for(label: str) -> EventMetadata:
    return EventMetadata(
        actor=Actor(subject=f"user:{label}", office="back"),
        correlation_id=str(uuid4()),
        causation_id=str(uuid4()),
    )


def new_events(values: Sequence[int | str]) -> list[NewEvent]:
    return [NewEvent(EVENT_TYPE, 1, {"value": value}) for value in values]


def new_stream_id() -> str:
    return f"counter-{uuid4()}"


async def append(
    engine: AsyncEngine,
    store: EventStore,
    stream_id: str,
    expected_version: int,
    values: Sequence[int | str],
) -> list[EventEnvelope]:
    async with engine.begin() as conn:
        return await store.append(
            conn,
            [StreamAppend(stream_id, STREAM_TYPE, expected_version, new_events(values))],
            metadata_for("append"),
        )


async def append_bulk(
    engine: AsyncEngine, store: EventStore, streams: int, per_stream: int, *, per_tx: int = 10
) -> list[str]:
    """``streams * per_stream`` events with random values, ``per_tx`` streams a transaction."""
    stream_ids = [new_stream_id() for _ in range(streams)]
    for start in range(0, streams, per_tx):
        async with engine.begin() as conn:
            await store.append(
                conn,
                [
                    StreamAppend(
                        stream_id,
                        STREAM_TYPE,
                        0,
                        new_events([random.randint(-1000, 1000) for _ in range(per_stream)]),
                    )
                    for stream_id in stream_ids[start : start + per_tx]
                ],
                metadata_for("bulk"),
            )
    return stream_ids


async def fold_store(engine: AsyncEngine) -> dict[str, Totals]:
    """What the read model must hold: a fold of every stored event (poison ones excluded)."""
    totals: dict[str, Totals] = {}
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                schema.events.c.stream_id, schema.events.c.stream_version, schema.events.c.data
            ).order_by(schema.events.c.position)
        )
        for stream_id, stream_version, data in rows:
            if isinstance(data["value"], int):
                totals.setdefault(stream_id, Totals()).add(data["value"], stream_version)
    return totals


async def read_totals(read_model: ReadModelStore) -> dict[str, Totals]:
    async with read_model.reading() as conn:
        rows = await conn.execute(sa.select(stream_totals))
        return {row.stream_id: Totals(row.events, row.total, row.max_version) for row in rows.all()}


async def relay_cursor(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        row = await conn.execute(sa.select(sa.func.max(schema.outbox_cursor.c.position)))
        return int(row.scalar_one_or_none() or 0)


async def relay_reached(engine: AsyncEngine, position: int) -> bool:
    return await relay_cursor(engine) >= position


async def store_head(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await PostgresEventStore(SOURCE).head(conn)


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout: float,
    interval: float = 0.05,
    watch: Sequence[Background | Worker] = (),
) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds, or at once when one of the
    watched tasks or processes has died."""
    deadline = time.monotonic() + timeout
    while not await check():
        for watched in watch:
            watched.check_alive()
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


class TopicReader:
    """A group-less consumer that reads whole topics and their end offsets."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.topic = topic
        self.partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        self._consumer.assign(self.partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def end_offsets(self) -> dict[int, int]:
        ends = await self._consumer.end_offsets(self.partitions)
        return {tp.partition: offset for tp, offset in ends.items()}

    async def size(self) -> int:
        return sum((await self.end_offsets()).values())

    async def read_all(self, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record up to the end offsets as of now, in offset order per partition."""
        ends = await self._consumer.end_offsets(self.partitions)
        await self._consumer.seek_to_beginning(*self.partitions)
        pending = {tp for tp in self.partitions if ends[tp] > 0}
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() >= deadline:
                raise AssertionError(f"could not read {self.topic} to its end in {timeout}s")
            batches = await self._consumer.getmany(*pending, timeout_ms=200)
            for tp, batch in batches.items():
                records.extend(r for r in batch if r.offset < ends[tp])
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return records


def decode_all(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[EventEnvelope]:
    return [EventEnvelope.from_json_bytes(r.value or b"") for r in records]


async def caught_up(read_model: ReadModelStore, reader: TopicReader) -> bool:
    """The live read model's checkpoints have reached the end of every non-empty partition."""
    ends = await reader.end_offsets()
    async with read_model.reading() as conn:
        rows = await conn.execute(
            sa.select(
                read_model.checkpoints.c.partition, read_model.checkpoints.c.kafka_offset
            ).where(read_model.checkpoints.c.topic == reader.topic)
        )
        done = {partition: offset + 1 for partition, offset in rows.all()}
    return all(done.get(p, 0) >= end for p, end in ends.items() if end > 0)


@dataclass
class Background:
    """An in-process relay or projection runner."""

    task: asyncio.Task[None]
    extra: dict[str, Any] = field(default_factory=dict)

    def check_alive(self) -> None:
        if self.task.done():
            raise AssertionError(f"{self.task.get_name()} stopped: {self.task.exception()!r}")


@contextlib.asynccontextmanager
async def running_relay(
    engine: AsyncEngine, bootstrap: str, topics: KernelTopics, **options: Any
) -> AsyncIterator[Background]:
    producer = create_producer(bootstrap, client_id="kernel-test-relay")
    await producer.start()
    relay = OutboxRelay(
        engine, PostgresEventStore(SOURCE), producer, topics.events, topics.partitions, **options
    )
    task = asyncio.create_task(relay.run(), name="outbox relay")
    try:
        yield Background(task, {"relay": relay})
    finally:
        task.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await task  # raises the error that ended the run, if one did
        finally:
            await producer.stop()


@contextlib.asynccontextmanager
async def running_projection(
    read_model: ReadModelStore, bootstrap: str, topics: KernelTopics, **options: Any
) -> AsyncIterator[Background]:
    producer = create_producer(bootstrap, client_id="kernel-test-dead-letters")
    await producer.start()
    runner = ProjectionRunner(
        KernelTotals(topics.namespace, apply_delay=0),
        read_model,
        bootstrap,
        group_id=f"{topics.namespace}kernel.totals",
        dead=DeadLetters(producer, topics.dead_letters),
        **options,
    )
    task = asyncio.create_task(runner.run(), name="projection runner")
    try:
        yield Background(task, {"runner": runner})
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


def totals_read_model(engine: AsyncEngine) -> ReadModelStore:
    return ReadModelStore(engine, KernelTotals.name, KernelTotals.metadata)


class Worker:
    """``python -m shared_kernel.worker ...`` as a child process, its output in a log file."""

    def __init__(self, args: Sequence[str], log_path: Path, env: dict[str, str] | None = None):
        self.args = list(args)
        self.log_path = log_path
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, env: dict[str, str] | None = None) -> None:
        assert self.process is None or self.process.returncode is not None
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "shared_kernel.worker",
                *self.args,
                stdout=log,
                stderr=log,
                env={**self.env, **(env or {})},
            )

    def check_alive(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()}")

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind in the child."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            await self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

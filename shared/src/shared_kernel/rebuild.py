"""Rebuild a read model from offset zero beside the live one, then switch readers over.

The new generation is filled by a group-less consumer that reads every partition from the
beginning up to the end offsets seen at the start. It then keeps consuming until, on every
partition, it has handled at least what the live generation has (the live runner went on
meanwhile), and the pointer moves in one transaction that re-checks this under a lock (see
``ReadModelStore.switch_when_caught_up``): a reader never sees an older state than it saw.
The live runner notices the switch and continues the new generation from its checkpoints.
Projections are pure, so a rebuild triggers no side effect again, and a poison record the live
generation has already handled (and so dead-lettered) is not sent to the dead-letter topic again.
A rebuild that switches without meeting any poison record has handled everything the read model
ever dead-lettered: it announces the projection's recovery (``DeadLetters.recovered``), which
resolves the incident its dead letters opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared_kernel.kafka import topic_partitions
from shared_kernel.kafka_connection import KafkaTarget, client_kwargs
from shared_kernel.projections import DeadLetters, Projection, ProjectionWriter
from shared_kernel.readmodel import Offsets, ReadModelStore
from shared_kernel.runtime import ServiceRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RebuildReport:
    generation: int
    events: int
    seconds: float
    poisoned: int = 0  # records it could not apply (no recovery announced then)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(
    projection: Projection,
    read_model: ReadModelStore,
    bootstrap_servers: KafkaTarget,
    dead: DeadLetters,
    *,
    switch: bool = True,
    max_records: int = 5000,
) -> RebuildReport:
    live = await read_model.ensure_live()
    generation = live + 1
    # Filled without its secondary indexes (built once, after the fill: one sort each
    # instead of a b-tree insert per row), its insert-only rows COPYed (see ``bulk_rows``).
    await read_model.create_generation(generation, deferred_indexes=True)
    live_view = ProjectionWriter(projection, read_model, live, dead)  # reads checkpoints only

    async def handled_by_live(tp: TopicPartition, offset: int) -> bool:
        checkpoint = await live_view.checkpoint(tp)
        return checkpoint is not None and checkpoint.kafka_offset >= offset

    writer = ProjectionWriter(
        projection, read_model, generation, dead, live=False, handled_elsewhere=handled_by_live
    )
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        **client_kwargs(bootstrap_servers),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        # From the broker: a fresh consumer holds no metadata for the topics yet (and
        # ``consumer.topics()`` fills a cluster object of its own, not the consumer's).
        partitions = [
            TopicPartition(topic, p)
            for topic in projection.topics
            for p in range(await topic_partitions(bootstrap_servers, topic))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        fill = _Fill(consumer, writer, max_records, writers=2 if projection.parallel_fill else 1)
        await fill.up_to({tp: end[tp] - 1 for tp in partitions})
        await read_model.build_indexes(generation)
        if switch:
            await read_model.switch_when_caught_up(generation, fill.up_to)
    finally:
        await consumer.stop()
    if switch:
        await read_model.drop_generations_except({live, generation})
        log.info("read model %s switched to generation %s", read_model.name, generation)
        if writer.poisoned == 0:
            await dead.recovered(
                projection.name,
                how="rebuild",
                detail=f"read model {read_model.name} rebuilt into generation {generation}: "
                f"{writer.applied} events applied, none dead-lettered",
                run=f"generation {generation}",
            )
    return RebuildReport(generation, writer.applied, time.perf_counter() - started, writer.poisoned)


class _Fill:
    """Applies the assigned partitions to the new generation up to target offsets.

    The batches of one partition are written one after the other, each in its own
    transaction with its checkpoint (as a live runner does). For a projection that allows it
    (``Projection.parallel_fill``), batches of different partitions are written by up to
    ``writers`` transactions at once, so that one batch's decoding (Python) runs while
    another's statements run in the database; where both touch the same rows (totals), the
    later waits for the earlier's commit. At most ``2 * writers`` batches wait at a time."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        writer: ProjectionWriter,
        max_records: int,
        writers: int = 2,
    ):
        self._consumer = consumer
        self._writer = writer
        self._max_records = max_records
        self._done: dict[TopicPartition, int] = {}  # last offset written, per partition
        self._slots = asyncio.Semaphore(writers)
        self._most_waiting = 2 * writers
        # The last write scheduled per partition: the next one of that partition follows it.
        self._tails: dict[TopicPartition, asyncio.Task[None]] = {}
        self._writes: set[asyncio.Task[None]] = set()

    async def up_to(self, targets: Offsets) -> None:
        pending = {
            tp
            for tp, target in targets.items()
            if tp in self._consumer.assignment() and self._done.get(tp, -1) < target
        }
        try:
            while pending:
                batches = await self._consumer.getmany(
                    *pending, timeout_ms=500, max_records=self._max_records
                )
                for tp, records in batches.items():
                    self._schedule(tp, records)
                    if records[-1].offset >= targets[tp]:
                        pending.discard(tp)
                while len(self._writes) >= self._most_waiting:
                    await self._settle(asyncio.FIRST_COMPLETED)
            while self._writes:
                await self._settle(asyncio.ALL_COMPLETED)
        except BaseException:
            for task in self._writes:
                task.cancel()
            await asyncio.gather(*self._writes, return_exceptions=True)
            self._writes.clear()
            self._tails.clear()
            raise

    def _schedule(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        task = asyncio.create_task(self._write(tp, records, self._tails.get(tp)))
        self._tails[tp] = task
        self._writes.add(task)

    async def _write(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        after: asyncio.Task[None] | None,
    ) -> None:
        try:
            if after is not None:
                await asyncio.shield(after)  # its failure fails the fill (and so this batch)
            async with self._slots:
                await self._writer.write(tp, records)
            self._done[tp] = records[-1].offset
        finally:
            if self._tails.get(tp) is asyncio.current_task():
                del self._tails[tp]

    async def _settle(self, how: str) -> None:
        """Wait for scheduled writes (the first, or all); a failed write fails the fill."""
        done, _ = await asyncio.wait(self._writes, return_when=how)
        self._writes -= done
        for task in done:
            task.result()


async def rebuild_service(runtime: ServiceRuntime) -> list[RebuildReport]:
    """``python -m <service> rebuild``: every read model of the service rebuilt beside the
    live one and switched to, one after the other. ``runtime`` must be built with the relay,
    projections and background work switched off (this process only rebuilds)."""
    await runtime.start()
    reports = []
    try:
        for projection in runtime.projections:
            report = await rebuild(
                projection,
                runtime.read_models[projection.name],
                runtime.settings.kafka_connection(),
                runtime.dead_letters(),
            )
            print(
                f"{projection.name}: generation {report.generation} live, "
                f"{report.events} events in {report.seconds:.2f}s "
                f"({report.events_per_second:,.0f}/s)"
                + (f", {report.poisoned} poison records" if report.poisoned else "")
            )
            reports.append(report)
    finally:
        await runtime.stop()
    return reports

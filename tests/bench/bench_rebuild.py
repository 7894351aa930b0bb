"""Rebuilding the ledger's read models from Kafka, beside a bare read of the same topic.

~100,000 realistic ledger events (200 AccountOpened, then JournalEntryPosted with 2-4 lines,
encoded with the ledger's codec) are appended through the event store and relayed to a fresh
topic. Then ``shared_kernel.rebuild.rebuild`` fills a new generation of ``LedgerView`` from
offset zero. The baseline reads the same topic with a group-less consumer of the same fetch
settings and decodes every envelope, writing nothing: the ceiling the database work lowers.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_common import (
    PARTITIONS,
    Report,
    Result,
    create_database,
    fill,
    kafka_bootstrap,
    ledger_appends,
    namespace,
    profiled,
    topic_size,
)
from ledger.projections.ledger_view import LedgerView
from shared_kernel.db import create_engine
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import EventStore
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_topic,
    ensure_topics,
    events_topic,
    topic_partitions,
)
from shared_kernel.outbox import OutboxRelay
from shared_kernel.projections import DeadLetters
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.rebuild import rebuild

ACCOUNTS = 200
ENTRIES = 100_000
TARGET = 20_000  # events/s


async def bare_consume(topic: str) -> tuple[int, float]:
    """Reads and decodes every record of ``topic`` up to its end offsets: (records, seconds)."""
    n_partitions = await topic_partitions(kafka_bootstrap(), topic)
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    count = 0
    try:
        partitions = [TopicPartition(topic, p) for p in range(n_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if end[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    EventEnvelope.from_json_bytes(record.value or b"")
                count += len(records)
                if records[-1].offset + 1 >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return count, time.perf_counter() - started


async def run(report: Report) -> None:
    url = await create_database("rebuild")
    engine = create_engine(url)
    store = EventStore(source="/ledger")
    ns = namespace()
    view = LedgerView(ns)
    topic = events_topic("ledger", ns)
    total = ACCOUNTS + ENTRIES
    try:
        await ensure_topics(
            kafka_bootstrap(),
            [TopicSpec(topic, PARTITIONS), TopicSpec(dead_letter_topic("ledger", ns), 1)],
        )
        started = time.perf_counter()
        assert await fill(engine, store, ledger_appends(ACCOUNTS, ENTRIES)) == total
        filled = time.perf_counter() - started
        producer = create_producer(kafka_bootstrap(), client_id="bench-rebuild")
        await producer.start()
        try:
            relay = OutboxRelay(engine, store, producer, topic, PARTITIONS)
            started = time.perf_counter()
            while relay.published < total:
                await relay.publish_once()
            relayed = time.perf_counter() - started
            report.note(
                f"setup: {total:,} ledger events appended in {filled:.1f}s "
                f"({total / filled:,.0f}/s, 1,000 streams per append) and relayed in "
                f"{relayed:.1f}s ({total / relayed:,.0f}/s)"
            )
            assert await topic_size(topic) == total

            read_model = ReadModelStore(engine, view.name, view.metadata)
            with profiled("rebuild"):
                outcome = await rebuild(
                    view,
                    read_model,
                    kafka_bootstrap(),
                    DeadLetters(producer, dead_letter_topic("ledger", ns)),
                )
        finally:
            await producer.stop()
        consumed, bare_seconds = await bare_consume(topic)

        schema = read_model.schema(outcome.generation)
        async with engine.connect() as conn:
            entries, lines, debits, credits = (
                await conn.execute(
                    sa.text(
                        f'SELECT (SELECT count(*) FROM "{schema}".journal_entries), '
                        f'(SELECT count(*) FROM "{schema}".entry_lines), '
                        f'(SELECT sum(debit_total) FROM "{schema}".account_balances), '
                        f'(SELECT sum(credit_total) FROM "{schema}".account_balances)'
                    )
                )
            ).one()
        result = Result(
            name="rebuild ledger read models",
            value=outcome.events_per_second,
            unit="events/s",
            detail=f"({outcome.events:,} events in {outcome.seconds:.1f}s)",
            baseline_name="bare consume+decode",
            baseline_value=consumed / bare_seconds,
            baseline_detail=f"({bare_seconds:.1f}s)",
            target=TARGET,
            target_is_value=True,
        )
        if outcome.events != total or entries != ENTRIES or debits != credits:
            result.notes.append(
                f"WARNING: applied {outcome.events} of {total}, {entries} entries, "
                f"debits {debits} vs credits {credits}"
            )
        else:
            result.notes.append(
                f"checked: {entries:,} entries, {lines:,} lines, debits = credits in the new "
                f"generation; max_records 5000 per fetch, {PARTITIONS} partitions"
            )
        report.add(result)
    finally:
        await engine.dispose()

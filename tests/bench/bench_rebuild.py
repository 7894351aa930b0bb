"""Rebuilding the ledger's read models from Kafka, beside a bare read of the same topic.

~100,000 realistic ledger events (200 AccountOpened, then JournalEntryPosted with 2-4 lines,
encoded with the ledger's codec) are appended through the event store and relayed to a fresh
topic. Then ``shared_kernel.rebuild.rebuild`` fills a new generation of ``LedgerView`` from
offset zero. The baseline reads the same topic with a group-less consumer of the same fetch
settings and decodes every envelope, writing nothing: the ceiling the database work lowers.
A second baseline is raw COPY: every row of the rebuilt generation (all its tables) read back
and written again with asyncpg ``copy_records_to_table`` into empty copies of its tables (same
indexes), the ceiling of writing those rows into PostgreSQL; its rate is the events applied
per second of that COPY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import sqlalchemy as sa
from bench_common import (
    PARTITIONS,
    Report,
    Result,
    bare_consume,
    create_database,
    fill,
    kafka_bootstrap,
    ledger_appends,
    namespace,
    profiled,
    raw_copy,
    terminate_connections,
    topic_size,
)
from ledger.projections.ledger_view import LedgerView
from shared_kernel.db import create_engine
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_topic,
    ensure_topics,
    events_topic,
)
from shared_kernel.outbox import OutboxRelay
from shared_kernel.projections import DeadLetters
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.rebuild import RebuildReport, rebuild
from sqlalchemy.ext.asyncio import AsyncEngine

ACCOUNTS = 200
ENTRIES = 100_000
BUDGET = 75.0  # seconds; a slower rebuild is stopped and measured by how far it got


async def stop(task: asyncio.Task[RebuildReport], url: str) -> None:
    """Cancels a rebuild. asyncpg can hang when cancelled in the middle of an executemany
    (the server waits for the rest of the batch, the client for the server): then its
    database connections are ended, and the task cancelled again until it is gone. The
    projection runner's "batch failed" and dead-letter logs of that moment are muted."""
    quiet = logging.getLogger("shared_kernel.projections")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        if not task.done():
            await terminate_connections(url)
        for _ in range(60):
            if task.done():
                break
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        with contextlib.suppress(BaseException):
            task.result()
    finally:
        quiet.setLevel(level)


async def consumed_so_far(engine: AsyncEngine, schema: str) -> int:
    """Records a generation has applied so far, from its checkpoints (offsets start at 0)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.text(f'SELECT sum(kafka_offset + 1) FROM "{schema}".projection_checkpoints')
        )
        return int(found.scalar_one() or 0)


async def generation_tables(engine: AsyncEngine, schema: str) -> list[str]:
    """The quoted, qualified names of every table of a read-model generation."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = :schema AND table_type = 'BASE TABLE' ORDER BY 1"
            ),
            {"schema": schema},
        )
        return [f'"{schema}"."{name}"' for name in found.scalars()]


async def check(engine: AsyncEngine, schema: str, applied: int, total: int) -> str:
    """Did the rebuilt generation get every entry, line and a balanced ledger?"""
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
    if applied != total or entries != ENTRIES or debits != credits:
        return (
            f"WARNING: applied {applied:,} of {total:,}, {entries:,} entries, "
            f"debits {debits} vs credits {credits}"
        )
    return (
        f"checked: {entries:,} entries, {lines:,} lines, debits = credits in the new "
        f"generation; max_records 5000 per fetch, {PARTITIONS} partitions"
    )


async def run(report: Report) -> None:
    url = await create_database("rebuild")
    engine = create_engine(url)
    store = PostgresEventStore(source="/ledger")
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
            generation = await read_model.ensure_live() + 1  # the one rebuild() fills
            task = asyncio.create_task(
                rebuild(
                    view,
                    read_model,
                    kafka_bootstrap(),
                    DeadLetters(producer, dead_letter_topic("ledger", ns)),
                )
            )
            started = time.perf_counter()
            with profiled("rebuild"):
                await asyncio.wait({task}, timeout=BUDGET)
            finished = task.done()
            if finished:
                outcome = task.result()
                applied, seconds = outcome.events, outcome.seconds
            else:
                # Too slow to finish in the bench's time: stop it and measure how far it got.
                seconds = time.perf_counter() - started
                await stop(task, url)
                applied = await consumed_so_far(engine, read_model.schema(generation))
        finally:
            await producer.stop()
        consumed, bare_seconds = await bare_consume(topic)

        result = Result(
            name="rebuild ledger read models",
            value=applied / seconds,
            unit="events/s",
            detail=f"({applied:,} events in {seconds:.1f}s)",
            baseline_name="bare consume+decode",
            baseline_value=consumed / bare_seconds,
            baseline_detail=f"({bare_seconds:.1f}s)",
            figure="rebuild",
        )
        if not finished:
            result.notes.append(
                f"STOPPED after the {BUDGET:.0f}s budget with {applied:,} of {total:,} events "
                "applied (rate from the new generation's checkpoints)"
            )
        else:
            result.notes.append(await check(engine, read_model.schema(generation), applied, total))
        report.add(result)
        schema = read_model.schema(generation)
        rows, copy_seconds = await raw_copy(url, await generation_tables(engine, schema))
        report.add(
            Result(
                name="  the same beside raw COPY of its rows",
                value=applied / seconds,
                unit="events/s",
                baseline_name="raw COPY",
                baseline_value=applied / copy_seconds,
                baseline_detail=f"({rows:,} rows in {copy_seconds:.1f}s)",
                figure="rebuild-copy",
            )
        )
    finally:
        await engine.dispose()

"""Single-event commands appended to the event store, beside the ``eventsourcing`` library and
raw INSERTs.

A command here is what a service's command is, without its HTTP: a unit of work
(``PostgresUnitOfWork``) that adds a new aggregate with one event (a three-line journal entry)
and commits. With group commit (``shared_kernel.group_commit``, the services' default) the
commands that reach their commit together share one transaction; without it each has its own:
the lock statement (the transaction id, the position lock shared, the stream's lock), the
versions and positions, one INSERT, COMMIT. Both chain a sha256 hash over each new event (in
Python). The raw baseline inserts the same rows (same columns, same constraints and indexes,
the same JSONB data, a 64-character hash) into a copy of the events table, with positions from
a counter in this process, one row per transaction: no lock, no version check, no hashing, the
same driver (SQLAlchemy over asyncpg).

The issue's baseline is the ``eventsourcing`` library (PyPI, a dev-only dependency of the
benchmarks): its PostgreSQL application recorder (``eventsourcing.postgres``, psycopg 3, a
pool of one connection per writer) appends the same single-event commands, one new
aggregate each with the same JSON (encoded per command, as our store encodes it), to the same
server, in a fresh database of its own. It is a synchronous library, so its writers are
threads. Its recorder takes an EXCLUSIVE table lock through commit (its gap-free order), so
its writers queue for the lock: it cannot group commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from bench_common import (
    ACTOR,
    Report,
    Result,
    asyncpg_dsn,
    create_database,
    metadata,
    profiled,
    sample_entry,
    sample_entry_data,
)
from ledger.bootstrap import ledger_codec
from shared_kernel.db import create_engine
from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.eventstore import (
    NewEvent,
    PostgresEventStore,
    StreamAppend,
    new_event_id,
)
from shared_kernel.group_commit import GroupCommit
from shared_kernel.identity import Caller
from shared_kernel.schema import events
from shared_kernel.unit_of_work import CommandContext, PostgresUnitOfWork
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

SINGLE_N = 2_000
BATCH_N = 50_000
BATCH_SIZE = 100
WRITERS = 8
ROUNDS = 4
HASH = "0" * 64

Write = Callable[[int], Awaitable[None]]
# (transactions, events per transaction, writers) -> seconds taken
Spread = Callable[[int, int, int], Awaitable[float]]

raw_events = sa.Table(
    "raw_events", sa.MetaData(), *(sa.Column(c.name, c.type) for c in events.columns)
)


class Posting(Aggregate):
    """A new aggregate per command, its one event a journal entry."""

    stream_type = "bench"

    def post(self, entry: DomainEvent) -> None:
        self._record(entry)

    def _apply(self, event: DomainEvent) -> None:
        pass


class Writers:
    """The event store (commands through a unit of work, or appends of batches) and the raw
    baseline, writing the same data."""

    def __init__(self, engine: AsyncEngine, data: dict[str, Any]) -> None:
        self.engine = engine
        self.store = PostgresEventStore(source="/bench")
        self.group = GroupCommit(engine, self.store)
        self.codec = ledger_codec()
        self.entry = sample_entry()
        self.caller = Caller(ACTOR.subject, ("accountant",), ACTOR.office)
        self.data = data
        self.positions = itertools.count(1)

    async def command(self, group: GroupCommit | None) -> None:
        context = CommandContext(self.caller)
        async with PostgresUnitOfWork(
            self.engine, self.store, self.codec, context, group=group
        ) as uow:
            posting = Posting(str(uuid.uuid4()))
            uow.add(posting)
            posting.post(self.entry)
            await uow.commit()

    async def grouped_command(self, size: int) -> None:
        assert size == 1, "a command appends one event here"
        await self.command(self.group)

    async def lone_command(self, size: int) -> None:
        assert size == 1, "a command appends one event here"
        await self.command(None)

    async def store_append(self, size: int) -> None:
        append = StreamAppend(
            str(uuid.uuid4()),
            "bench",
            0,
            [NewEvent("bench.EntryPosted", 1, self.data) for _ in range(size)],
        )
        async with self.engine.begin() as conn:
            await self.store.append(conn, [append], metadata())

    async def raw_insert(self, size: int) -> None:
        stream_id = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        now = datetime.now(UTC)
        rows = [
            {
                "position": next(self.positions),
                "event_id": new_event_id(),
                "stream_id": stream_id,
                "stream_type": "bench",
                "stream_version": version,
                "event_type": "bench.EntryPosted",
                "event_version": 1,
                "data": self.data,
                "correlation_id": correlation,
                "causation_id": correlation,
                "actor": ACTOR.subject,
                "actor_office": ACTOR.office,
                "recorded_at": now,
                "hash": HASH,
            }
            for version in range(1, size + 1)
        ]
        async with self.engine.begin() as conn:
            await conn.execute(raw_events.insert(), rows)


def spreading(write: Write) -> Spread:
    """``write`` called ``transactions`` times by ``writers`` asyncio tasks."""

    async def spread(transactions: int, size: int, writers: int) -> float:
        share, extra = divmod(transactions, writers)

        async def writer(n: int) -> None:
            for _ in range(n):
                await write(size)

        started = time.perf_counter()
        await asyncio.gather(*(writer(share + (1 if i < extra else 0)) for i in range(writers)))
        return time.perf_counter() - started

    return spread


class Library:
    """The ``eventsourcing`` library's PostgreSQL application recorder in a database of its
    own, appending single-event commands from threads."""

    def __init__(self, url: str, data: dict[str, Any]) -> None:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        parts = make_url(asyncpg_dsn(url))
        self.datastore = PostgresDatastore(
            dbname=parts.database or "postgres",
            host=parts.host or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or "",
            pool_size=WRITERS,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)
        self.recorder.create_table()
        self.data = data

    def command(self) -> None:
        """One command: a new aggregate's first event, encoded and appended."""
        from eventsourcing.persistence import StoredEvent

        state = json.dumps(self.data).encode()
        self.recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "bench:EntryPosted", state)])

    def threads(self, transactions: int, writers: int) -> float:
        share, extra = divmod(transactions, writers)

        def writer(n: int) -> None:
            for _ in range(n):
                self.command()

        workers = [
            threading.Thread(target=writer, args=(share + (1 if i < extra else 0),))
            for i in range(writers)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.perf_counter() - started

    async def spread(self, transactions: int, size: int, writers: int) -> float:
        assert size == 1, "the library baseline appends single-event commands"
        return await asyncio.to_thread(self.threads, transactions, writers)

    def close(self) -> None:
        self.datastore.close()


async def race(contenders: list[Spread], transactions: int, size: int, writers: int) -> list[float]:
    """Events per second of ``transactions`` writes of ``size`` events by ``writers`` writers,
    for each contender. They take turns in ROUNDS slices, so that a load spike from other
    processes on the machine hits all alike."""
    for spread in contenders:  # warm up: open the pools' connections, prepare statements
        await spread(writers * 3, size, writers)
    seconds = [0.0] * len(contenders)
    per_round = transactions // ROUNDS
    for _ in range(ROUNDS):
        for n, spread in enumerate(contenders):
            with profiled("event store append") if n == 0 else contextlib.nullcontext():
                seconds[n] += await spread(per_round, size, writers)
    events = per_round * ROUNDS * size
    return [events / s for s in seconds]


async def run(report: Report) -> None:
    url = await create_database("append")
    library_url = await create_database("eventsourcing", migrate=False)
    engine = create_engine(url, pool_size=WRITERS + 2)
    library: Library | None = None
    try:
        async with engine.begin() as conn:
            # Same columns, constraints and indexes as the events table; triggers are not copied.
            await conn.execute(sa.text("CREATE TABLE raw_events (LIKE events INCLUDING ALL)"))
        data = sample_entry_data()
        report.note(
            f"rows carry {len(str(data))} chars of JSONB data (a three-line journal entry); "
            "fsync on, synchronous_commit on"
        )
        w = Writers(engine, data)
        library = await asyncio.to_thread(Library, library_url, data)
        store, raw = spreading(w.store_append), spreading(w.raw_insert)
        grouped, alone = spreading(w.grouped_command), spreading(w.lone_command)
        single: dict[int, float] = {}
        for writers in (1, WRITERS):
            commands_before = w.group.commands, w.group.groups
            ours, lone, inserts, theirs = await race(
                [grouped, alone, raw, library.spread], SINGLE_N, 1, writers
            )
            commands = w.group.commands - commands_before[0]
            groups = w.group.groups - commands_before[1]
            single[writers] = ours
            name = f"single-event commands ({writers} writer{'s' if writers > 1 else ''})"
            report.add(
                Result(
                    name=name,
                    value=ours,
                    unit="events/s",
                    baseline_name="eventsourcing lib",
                    baseline_value=theirs,
                    figure="append-1" if writers == 1 else "append-8",
                )
            )
            report.add(
                Result(
                    name="  the same beside raw INSERTs",
                    value=ours,
                    unit="events/s",
                    baseline_name="raw INSERT 1 row/tx",
                    baseline_value=inserts,
                    baseline_unit="rows/s",
                )
            )
            report.add(
                Result(
                    name="  each command in a transaction of its own",
                    value=lone,
                    unit="events/s",
                    baseline_name="with group commit",
                    baseline_value=ours,
                )
            )
            report.note(f"{writers} writer(s): {commands / max(groups, 1):.1f} commands per group")
        report.add(
            Result(
                name=f"single-event commands ({WRITERS} vs 1 writer)",
                value=single[WRITERS],
                unit="events/s",
                baseline_name="1 writer",
                baseline_value=single[1],
                figure="append-scaling",
            )
        )
        ours, inserts = await race([store, raw], BATCH_N // BATCH_SIZE, BATCH_SIZE, 1)
        report.add(
            Result(
                name=f"event store append (batch {BATCH_SIZE}, 1 writer)",
                value=ours,
                unit="events/s",
                baseline_name=f"raw INSERT {BATCH_SIZE} rows/tx",
                baseline_value=inserts,
                baseline_unit="rows/s",
            )
        )
    finally:
        if library is not None:
            library.close()
        await engine.dispose()

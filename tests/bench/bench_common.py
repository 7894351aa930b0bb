"""What every benchmark shares: where the servers are, fresh databases, result lines, profiling.

The benchmarks run against the PostgreSQL server ``BENCH_DATABASE_URL`` (a server URL; every
benchmark creates its own fresh database on it) and the Kafka cluster
``KAFKA_BOOTSTRAP_SERVERS``; ``deploy/bench.sh`` starts both on bench ports and exports them.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_figures import BY_KEY, Goal
from shared_kernel import schema
from shared_kernel.db import create_engine
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.eventstore import (
    EventMetadata,
    EventStore,
    NewEvent,
    PostgresEventStore,
    StreamAppend,
    new_event_id,
)
from shared_kernel.kafka import topic_partitions
from shared_kernel.projections import Projection
from shared_kernel.readmodel import PositionWaiter, ReadModelStore
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from ledger.domain import AccountOpened, JournalEntryPosted

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:55434/postgres"
DEFAULT_KAFKA = "127.0.0.1:29092"
PARTITIONS = 6
ACTOR = Actor(subject="user:bench-accountant", office="back")


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def kafka_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)


# Every database this process created, so that a benchmark stopped at its time limit can have
# its connections ended (``end_connections``) without touching anyone else's on the server.
CREATED: list[str] = []


def unique(label: str) -> str:
    return f"bench_{label}_{uuid.uuid4().hex[:8]}"


def namespace() -> str:
    """A fresh topic namespace, so that every benchmark starts from empty topics."""
    return f"bench{uuid.uuid4().hex[:8]}."


async def create_database(label: str, *, migrate: bool = True) -> str:
    """A new empty database on the bench server, with the kernel's tables (what every
    service's first migration creates) unless ``migrate`` is false; returns its URL."""
    name = unique(label)
    admin = create_engine(server_url(), pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        CREATED.append(name)
    finally:
        await admin.dispose()
    url = make_url(server_url()).set(database=name).render_as_string(hide_password=False)
    if migrate:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(schema.metadata.create_all)
                for statement in schema.IMMUTABILITY_DDL:
                    await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()
    return url


async def terminate_connections(url: str) -> None:
    """Ends every server connection to the database of ``url``: the way to stop work in it
    that cannot be cancelled cleanly from this side (asyncpg may hang when a task is cancelled
    in the middle of an executemany)."""
    admin = create_engine(server_url(), pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": make_url(url).database},
            )
            await conn.commit()
    finally:
        await admin.dispose()


async def end_connections(names: Iterable[str]) -> None:
    """Ends every server connection to the databases ``names`` (those a benchmark created):
    what unblocks a benchmark whose cancellation hangs on asyncpg (see
    ``terminate_connections``)."""
    admin = create_engine(server_url(), pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"
                ),
                {"names": list(names)},
            )
            await conn.commit()
    finally:
        await admin.dispose()


def metadata() -> EventMetadata:
    correlation = str(uuid.uuid4())
    return EventMetadata(actor=ACTOR, correlation_id=correlation, causation_id=correlation)


# ---------------------------------------------------------------------------------------------
# Realistic ledger events


@dataclass
class Chart:
    """A chart of accounts for generated ledger events: (account id, code) pairs."""

    accounts: list[tuple[str, str]]

    @classmethod
    def of(cls, size: int) -> Chart:
        codes = [f"{1000 + i * 7}" for i in range(size)]
        return cls([(str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:bench:{c}")), c) for c in codes])

    def opened_events(self) -> list[AccountOpened]:
        from ledger.domain import AccountOpened

        kinds = ["asset", "liability", "equity", "revenue", "expense"]
        return [
            AccountOpened(
                account_id=account_id,
                code=code,
                name=f"Bench account {code}",
                account_type=kinds[i % len(kinds)],
                currency="EUR",
            )
            for i, (account_id, code) in enumerate(self.accounts)
        ]


def journal_entry(
    rng: random.Random,
    chart: Chart,
    number: int,
    metadata: Mapping[str, str] | None = None,
) -> JournalEntryPosted:
    """A balanced entry with 2 to 4 lines on distinct accounts (``metadata`` such as the
    counterparty and desk of a deal, as the ledger keeps it on the entry)."""
    from ledger.domain import JournalEntryPosted, PostedLine

    count = rng.randint(2, 4)
    picked = rng.sample(chart.accounts, count)
    amounts = [rng.randint(100, 5_000_000) for _ in range(count // 2)]
    if count == 2:
        sides = [("debit", amounts[0]), ("credit", amounts[0])]
    elif count == 3:
        other = rng.randint(100, 5_000_000)
        sides = [("debit", amounts[0] + other), ("credit", amounts[0]), ("credit", other)]
    else:
        sides = [
            ("debit", amounts[0]),
            ("debit", amounts[1]),
            ("credit", amounts[0]),
            ("credit", amounts[1]),
        ]
    lines = tuple(
        PostedLine(
            account_id=account_id, account_code=code, side=side, amount=amount, currency="EUR"
        )
        for (account_id, code), (side, amount) in zip(picked, sides, strict=True)
    )
    return JournalEntryPosted(
        entry_id=str(new_event_id()),
        voucher_number=f"RE-2026-{number:07d}",
        booking_date=date(2026, 1, 1) + timedelta(days=number % 365),
        text=f"Invoice {number} paid, bench run",
        lines=lines,
        metadata=dict(metadata or {}),
    )


def ledger_appends(accounts: int, entries: int, *, seed: int = 42) -> Iterator[StreamAppend]:
    """AccountOpened for ``accounts`` accounts, then ``entries`` JournalEntryPosted, each its
    own new stream, encoded with the ledger's codec exactly as the ledger stores them."""
    from ledger.bootstrap import ledger_codec

    codec = ledger_codec()
    chart = Chart.of(accounts)
    for event in chart.opened_events():
        yield StreamAppend(
            event.account_id, "account", 0, [NewEvent(event.event_type, 1, codec.encode(event))]
        )
    rng = random.Random(seed)
    for number in range(1, entries + 1):
        entry = journal_entry(rng, chart, number)
        yield StreamAppend(
            entry.entry_id,
            "journal_entry",
            0,
            [NewEvent(entry.event_type, 1, codec.encode(entry))],
        )


def sample_entry() -> JournalEntryPosted:
    """One typical (three-line) journal entry."""
    rng = random.Random(7)
    chart = Chart.of(20)
    while True:
        entry = journal_entry(rng, chart, 1)
        if len(entry.lines) == 3:
            return entry


def sample_entry_data() -> dict[str, Any]:
    """The JSON data of one typical (three-line) journal entry, as the ledger encodes it."""
    from ledger.bootstrap import ledger_codec

    data: dict[str, Any] = ledger_codec().encode(sample_entry())
    return data


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    """One printed line: a figure beside its baseline measured in the same run, and its goal.

    ``figure`` names the row of issue 14's table the result fills (``bench_figures.FIGURES``);
    its goal then comes from there unless ``goal`` is given."""

    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float | None = None
    baseline_unit: str = ""  # the figure's own unit unless given
    detail: str = ""
    baseline_detail: str = ""
    goal: Goal | None = None
    decimals: int = 0  # of the value and the baseline value
    notes: list[str] = field(default_factory=list)
    figure: str = ""

    def __post_init__(self) -> None:
        if self.figure:
            if self.figure not in BY_KEY:
                raise ValueError(f"no figure {self.figure!r} in bench_figures.FIGURES")
            if self.goal is None:
                self.goal = BY_KEY[self.figure].goal

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None or not self.baseline_value:
            return None
        return self.value / self.baseline_value

    def line(self) -> str:
        text = f"{self.name:<42} {self.value:>9,.{self.decimals}f} {self.unit}"
        if self.detail:
            text += f" {self.detail}"
        if self.baseline_name:
            base = (
                "n/a"
                if self.baseline_value is None
                else f"{self.baseline_value:,.{self.decimals}f}"
            )
            text += f"   baseline {self.baseline_name} {base} {self.baseline_unit or self.unit}"
            if self.baseline_detail:
                text += f" {self.baseline_detail}"
        if self.ratio is not None:
            text += f"   ratio {self.ratio:.2f}"
        if self.goal is not None:
            met = self.goal.met(self.value, self.ratio)
            verdict = "?" if met is None else ("met" if met else "MISSED")
            text += f"   (goal {self.goal.text(self.unit)}: {verdict})"
        return text


class Report:
    """Collects result lines and prints each as soon as it is measured."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.lines: list[str] = []

    def add(self, result: Result) -> None:
        self.results.append(result)
        self.say(result.line())
        for note in result.notes:
            self.say(f"    {note}")

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def note(self, line: str) -> None:
        """Context printed now but left out of the summary."""
        print(f"    {line}", flush=True)


# ---------------------------------------------------------------------------------------------
# Profiling (--profile): the top of a cProfile of the measured section


@contextmanager
def profiled(label: str, top: int = 18) -> Iterator[None]:
    """With ``BENCH_PROFILE=1`` (``run.py --profile``), print the top of a cProfile of the
    block to stderr. Only this process is profiled, not the servers."""
    if os.environ.get("BENCH_PROFILE", "") in ("", "0"):
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        print(f"----- profile of {label} (tottime) -----", file=sys.stderr)
        print(out.getvalue(), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Filling an event store, sizing a topic


async def fill(
    engine: AsyncEngine, store: EventStore, appends: Iterable[StreamAppend], per_tx: int = 1000
) -> int:
    """Append ``appends`` through the event store, ``per_tx`` streams per transaction."""
    total = 0
    chunk: list[StreamAppend] = []
    for append in appends:
        chunk.append(append)
        if len(chunk) == per_tx:
            total += await _append(engine, store, chunk)
            chunk = []
    if chunk:
        total += await _append(engine, store, chunk)
    return total


async def _append(engine: AsyncEngine, store: EventStore, chunk: list[StreamAppend]) -> int:
    async with engine.begin() as conn:
        return len(await store.append(conn, chunk, metadata()))


async def topic_size(topic: str) -> int:
    """How many records the topic holds (sum of its partitions' end offsets)."""
    partitions = await topic_partitions(kafka_bootstrap(), topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap(), group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def bare_consume(topic: str) -> tuple[int, float]:
    """Reads and decodes every record of ``topic`` up to its end offsets, writing nothing:
    (records, seconds). The ceiling of any consumer of the topic that does work per event."""
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


# ---------------------------------------------------------------------------------------------
# Waiting and latency figures


async def wait_until(
    check: Callable[[], Awaitable[int]], target: int, timeout: float, every: float = 0.5
) -> tuple[int, float]:
    """Polls ``check`` until it reaches ``target`` or ``timeout`` seconds have passed:
    (last value, seconds waited)."""
    started = time.perf_counter()
    while True:
        value = await check()
        waited = time.perf_counter() - started
        if value >= target or waited >= timeout:
            return value, waited
        await asyncio.sleep(every)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; nan when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def read_model_caught_up(
    engine: AsyncEngine, projection: Projection, topic: str, timeout: float
) -> bool:
    """Has the live generation of ``projection`` applied every event the service's store
    holds (published by its relay to ``topic``)? Waits up to ``timeout`` seconds, the way a
    read with ``min_position`` waits."""
    async with engine.connect() as conn:
        last = await PostgresEventStore(source="").head(conn)
    waiter = PositionWaiter(
        ReadModelStore(engine, projection.name, projection.metadata), topic, kafka_bootstrap()
    )
    await waiter.start()
    try:
        return await waiter.wait_for(last, timeout)
    finally:
        await waiter.stop()


# ---------------------------------------------------------------------------------------------
# Raw COPY: the ceiling of writing rows into PostgreSQL


def asyncpg_dsn(url: str) -> str:
    """``url`` as a plain ``postgresql://`` DSN asyncpg connects to."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def raw_copy(url: str, sources: Iterable[str], limit: int | None = None) -> tuple[int, float]:
    """Reads every row (the first ``limit``) of the tables ``sources`` (quoted names) of the
    database ``url`` into memory, then COPYs them (asyncpg ``copy_records_to_table``, one
    transaction) into empty copies with the same columns, constraints and indexes (``LIKE ...
    INCLUDING ALL``; no triggers) in a scratch schema: (rows, seconds of the COPY alone). The
    ceiling of anything that writes the same rows."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        scratch = f"bench_copy_{uuid.uuid4().hex[:8]}"
        await conn.execute(f'CREATE SCHEMA "{scratch}"')
        loaded: list[tuple[str, list[str], list[Any]]] = []
        for number, source in enumerate(sources):
            target = f"t{number}"
            await conn.execute(f'CREATE TABLE "{scratch}".{target} (LIKE {source} INCLUDING ALL)')
            # Generated columns are computed by the server, not copied.
            columns = [
                str(row["column_name"])
                for row in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
                    "AND table_name = $2 AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    scratch,
                    target,
                )
            ]
            listed = ", ".join(f'"{column}"' for column in columns)
            rows = await conn.fetch(
                f"SELECT {listed} FROM {source}" + ("" if limit is None else f" LIMIT {int(limit)}")
            )
            loaded.append((target, columns, [tuple(row) for row in rows]))
        started = time.perf_counter()
        async with conn.transaction():
            for target, columns, records in loaded:
                if records:
                    await conn.copy_records_to_table(
                        target, records=records, columns=columns, schema_name=scratch
                    )
        seconds = time.perf_counter() - started
        await conn.execute(f'DROP SCHEMA "{scratch}" CASCADE')
        return sum(len(records) for _, _, records in loaded), seconds
    finally:
        await conn.close()

"""Command -> read model lag, p99 at half the maximum load (issue 14: under 100 ms).

The ledger runs as a real uvicorn process (``bench_http.stack``, no gateway: fresh database and
topic namespace, relay and projection running). First its maximum rate: ``CLIENTS`` clients
post two-line journal entries back to back for ``PEAK_SECONDS`` (identity signed the way the
gateway signs it). Once the read model has caught up with that, entries are posted open loop
(on schedule, whatever the answers) at half that rate for ``STEADY_SECONDS``.

The lag of one command is the time from its 201 answer (the command committed) until its entry
is in the live generation of the ledger's read model (``journal_entries``, found by the entry
id the answer names): a watcher in this process polls that table every ``POLL`` seconds for
every answered entry not seen yet, so a lag is measured to within one poll (plus one query).
Nothing waits on the service's side: this is the projection's own pace, relay included.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_common import Report, Result, kafka_bootstrap, percentile, read_model_caught_up
from bench_http import VOUCHERS, Load, Skip, Stack, entry_body, load, open_accounts, stack
from ledger.projections.ledger_view import LedgerView
from shared_kernel.db import create_engine
from shared_kernel.kafka import events_topic
from shared_kernel.readmodel import ReadModelStore
from sqlalchemy.ext.asyncio import AsyncEngine

CLIENTS = 32
WARM_UP_SECONDS = 2.0
PEAK_SECONDS = 8.0
STEADY_SECONDS = 15.0
POLL = 0.005  # seconds between two looks at the read model
SETTLE = 15.0  # seconds the last entries may take to appear
CATCH_UP = 60.0
PATH = "/v1/journal-entries"


@dataclass
class Lags:
    """Per answered command: when it was sent, answered (201) and seen in the read model."""

    sent: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    answered_wall: dict[str, float] = field(default_factory=dict)  # epoch seconds, for Kafka
    published_wall: dict[str, float] = field(default_factory=dict)  # the record's CreateTime
    seen: dict[str, float] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    sending: bool = True

    def unseen(self) -> list[str]:
        return [entry for entry in self.answered if entry not in self.seen]

    def after_answer_ms(self) -> list[float]:
        return [(self.seen[e] - self.answered[e]) * 1000 for e in self.seen]

    def after_send_ms(self) -> list[float]:
        return [(self.seen[e] - self.sent[e]) * 1000 for e in self.seen]

    def stages_ms(self) -> tuple[list[float], list[float]]:
        """Per entry seen and found on Kafka: answer -> record created by the relay's producer
        (the relay's share), and that -> seen in the read model (broker, consumer,
        projection). Both cross clocks (wall for Kafka's timestamps, perf_counter for the
        rest), so each is good to about a millisecond."""
        relay, projection = [], []
        for entry, published in self.published_wall.items():
            if entry in self.seen:
                relay_ms = (published - self.answered_wall[entry]) * 1000
                relay.append(relay_ms)
                projection.append((self.seen[entry] - self.answered[entry]) * 1000 - relay_ms)
        return relay, projection


async def read_publication_times(topic: str, lags: Lags) -> None:
    """Reads ``topic`` from the start and notes, per answered entry, its record's timestamp
    (CreateTime: set by the relay's producer when it built the batch)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap(), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(
            list(consumer.assignment()) or await _partitions(consumer, topic)
        )
        done = {tp for tp, end in ends.items() if end == 0}
        while len(done) < len(ends):
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    entry = (record.key or b"").decode()
                    if entry in lags.answered_wall and entry not in lags.published_wall:
                        lags.published_wall[entry] = record.timestamp / 1000
                if records and records[-1].offset + 1 >= ends[tp]:
                    done.add(tp)
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(100):
        if consumer.assignment():
            return list(consumer.assignment())
        await asyncio.sleep(0.1)
    return [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]


async def watch(engine: AsyncEngine, table: str, lags: Lags) -> None:
    """Marks answered entries as seen once the read model has them, until every one is seen
    after the sending has stopped (or ``SETTLE`` seconds later)."""
    query = sa.text(f"SELECT entry_id FROM {table} WHERE entry_id = ANY(:ids)")
    settle_by: float | None = None
    async with engine.connect() as conn:
        while True:
            waiting = lags.unseen()
            if waiting:
                found = (await conn.execute(query, {"ids": waiting})).scalars().all()
                await conn.commit()  # a fresh snapshot for the next look
                now = time.perf_counter()
                for entry in found:
                    lags.seen[entry] = now
            if not lags.sending:
                settle_by = settle_by or time.perf_counter() + SETTLE
                if not lags.unseen() or time.perf_counter() > settle_by:
                    return
            await asyncio.sleep(POLL)


async def open_loop(
    url: str, headers: dict[str, str], accounts: tuple[str, str], rate: float, lags: Lags
) -> int:
    """Posts entries at ``rate`` per second for ``STEADY_SECONDS``; returns how many were sent."""
    limits = httpx.Limits(max_connections=CLIENTS * 2)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, trust_env=False) as http:

        async def post() -> None:
            sent = time.perf_counter()
            try:
                answer = await http.post(
                    PATH,
                    json=entry_body(*accounts, next(VOUCHERS)),
                    headers={**headers, "Idempotency-Key": f"lag-{uuid.uuid4().hex}"},
                )
            except httpx.HTTPError as exc:
                lags.failures[type(exc).__name__] += 1
                return
            if answer.status_code != 201:
                lags.failures[f"{answer.status_code} {answer.text[:120]}"] += 1
                return
            entry = str(answer.json()["id"])
            lags.sent[entry] = sent
            lags.answered[entry] = time.perf_counter()
            lags.answered_wall[entry] = time.time()

        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        while (due := started + len(tasks) / rate) < started + STEADY_SECONDS:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(post()))
        await asyncio.gather(*tasks)
    return len(tasks)


async def run(report: Report) -> None:
    try:
        async with stack(["ledger"], gateway=False) as running:
            await measure(report, running)
    except Skip as exc:
        report.say(f"read model lag benchmark skipped: {exc}")


async def measure(report: Report, running: Stack) -> None:
    ledger = running.services["ledger"]
    signed = running.signed("ledger", "operator:accountant", {"accountant"})
    accounts = await open_accounts(None, ledger, signed())
    await load(ledger.url, PATH, signed, accounts, WARM_UP_SECONDS)
    peak: Load = await load(ledger.url, PATH, signed, accounts, PEAK_SECONDS)
    if not peak.latencies:
        raise Skip(f"no entry was accepted at full load: {peak.failure_note('ledger')}")
    rate = peak.rate / 2

    engine = create_engine(ledger.env["LEDGER_DATABASE_URL"], pool_size=2)
    try:
        view = LedgerView(ledger.env["TOPIC_NAMESPACE"])
        topic = events_topic("ledger", ledger.env["TOPIC_NAMESPACE"])
        started = time.perf_counter()
        if not await read_model_caught_up(engine, view, topic, CATCH_UP):
            raise Skip(f"the read model did not catch up within {CATCH_UP:.0f}s of the peak")
        caught_up = time.perf_counter() - started
        read_model = ReadModelStore(engine, view.name, view.metadata)
        live = read_model.schema(await read_model.active_generation_required())
        lags = Lags()
        watcher = asyncio.create_task(watch(engine, f'"{live}".journal_entries', lags))
        try:
            sent = await open_loop(ledger.url, signed(), accounts, rate, lags)
        finally:
            lags.sending = False
        await watcher
        await read_publication_times(topic, lags)
    finally:
        await engine.dispose()

    after_answer, after_send = lags.after_answer_ms(), lags.after_send_ms()
    result = Result(
        name=f"command -> read model lag p99 at {rate:,.0f}/s",
        value=percentile(after_answer, 99),
        unit="ms",
        decimals=1,
        detail=(
            f"(from the 201 answer; from sending: p50 {percentile(after_send, 50):.1f} ms, "
            f"p99 {percentile(after_send, 99):.1f} ms)"
        ),
        baseline_name="p50",
        baseline_value=percentile(after_answer, 50),
        figure="lag",
    )
    result.notes.append(
        f"maximum {peak.rate:,.0f} entries/s ({CLIENTS} clients, {PEAK_SECONDS:.0f}s, "
        f"{peak.detail()}; read model caught up {caught_up:.1f}s later); then {sent:,} entries "
        f"open loop at half that for {STEADY_SECONDS:.0f}s: {len(lags.answered):,} answered "
        f"201, {len(lags.seen):,} seen in the read model (polled every {POLL * 1000:.0f} ms)"
    )
    relay, projection = lags.stages_ms()
    if relay:
        result.notes.append(
            f"where it goes ({len(relay):,} entries found on Kafka): answer -> on Kafka p50 "
            f"{percentile(relay, 50):.1f} / p99 {percentile(relay, 99):.1f} ms; on Kafka -> "
            f"in the read model p50 {percentile(projection, 50):.1f} / p99 "
            f"{percentile(projection, 99):.1f} ms"
        )
    missing = len(lags.answered) - len(lags.seen)
    if missing or lags.failures:
        shown = ", ".join(f"{n} x {what}" for what, n in lags.failures.most_common(3))
        result.notes.append(
            f"WARNING: {missing} answered entries not in the read model {SETTLE:.0f}s after the "
            f"last was sent; {sum(lags.failures.values())} failed requests {shown}"
        )
    report.add(result)

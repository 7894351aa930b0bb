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
from bench_common import Report, Result, percentile, read_model_caught_up
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
    seen: dict[str, float] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    sending: bool = True

    def unseen(self) -> list[str]:
        return [entry for entry in self.answered if entry not in self.seen]

    def after_answer_ms(self) -> list[float]:
        return [(self.seen[e] - self.answered[e]) * 1000 for e in self.seen]

    def after_send_ms(self) -> list[float]:
        return [(self.seen[e] - self.sent[e]) * 1000 for e in self.seen]


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
    missing = len(lags.answered) - len(lags.seen)
    if missing or lags.failures:
        shown = ", ".join(f"{n} x {what}" for what, n in lags.failures.most_common(3))
        result.notes.append(
            f"WARNING: {missing} answered entries not in the read model {SETTLE:.0f}s after the "
            f"last was sent; {sum(lags.failures.values())} failed requests {shown}"
        )
    report.add(result)

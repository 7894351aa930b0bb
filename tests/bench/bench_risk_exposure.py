"""Risk (issue 6): the exposure projection, ledger events processed per second, beside a bare
consume and decode of the same topic.

The risk service runs as a real uvicorn process (``bench_http.stack``, no gateway), with its
inboxes running. ``LIMITS`` limits are requested and approved (four-eyes) over HTTP for the
counterparties and desks the deals name. Then ``ENTRIES`` ``ledger.JournalEntryPosted`` events
(built with the ledger's domain and codec, 2 to 4 lines, counterparty and desk in the entry
metadata) are appended to a ledger event store in a database of their own and published by
the kernel's outbox relay onto the ledger topic of the risk service's namespace, exactly as
the ledger publishes them. The figure is the time from the relay's start until risk's
``ledger_exposures`` inbox has recorded every event as handled (``inbox_messages``): each
deal moves up to three ``Exposure`` streams and decides threshold crossings in the same
transaction. Afterwards the utilisation report is compared with exposures recomputed here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import sqlalchemy as sa
from bench_common import (
    PARTITIONS,
    Chart,
    Report,
    Result,
    bare_consume,
    create_database,
    fill,
    journal_entry,
    kafka_bootstrap,
    wait_until,
)
from bench_http import Service, Skip, Stack, stack
from bench_risk import COUNTERPARTIES, DESKS, approved_limits, limit_specs
from ledger.bootstrap import ledger_codec
from risk.app.exposures import LedgerExposures
from risk.app.limits_queries import MAX_PAGE
from shared_kernel.db import create_engine
from shared_kernel.eventstore import NewEvent, PostgresEventStore, StreamAppend
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.outbox import OutboxRelay
from shared_kernel.schema import inbox_messages

ACCOUNTS = 50
ENTRIES = 20_000
PER_COUNTERPARTY = 2_000_000_000  # minor units: most limits end up between 50 % and 150 % used
CONSUMER = "risk.ledger_exposures"
BUDGET = 150.0  # seconds for the inbox to get through the topic
CHECK_TIMEOUT = 60.0


def deal_appends(expected: dict[str, int]) -> Iterator[StreamAppend]:
    """The chart's AccountOpened, then ``ENTRIES`` posted entries of deals, each naming a
    counterparty and a desk; ``expected`` gets each counterparty's exposure (the sum of its
    entries' debit lines, the exposure rule of ``risk.domain.exposure``)."""
    codec = ledger_codec()
    chart = Chart.of(ACCOUNTS)
    for event in chart.opened_events():
        yield StreamAppend(
            event.account_id, "account", 0, [NewEvent(event.event_type, 1, codec.encode(event))]
        )
    rng = random.Random(21)
    for number in range(1, ENTRIES + 1):
        counterparty = rng.choice(COUNTERPARTIES)
        entry = journal_entry(
            rng, chart, number, {"counterparty": counterparty, "desk": rng.choice(DESKS)}
        )
        expected[counterparty] = expected.get(counterparty, 0) + sum(
            line.amount for line in entry.lines if line.side == "debit"
        )
        yield StreamAppend(
            entry.entry_id,
            "journal_entry",
            0,
            [NewEvent(entry.event_type, 1, codec.encode(entry))],
        )


async def handled(risk_url: str) -> int:
    engine = create_engine(risk_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.select(sa.func.count())
                .select_from(inbox_messages)
                .where(inbox_messages.c.consumer == CONSUMER)
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def utilisation(risk: Service, running: Stack) -> dict[str, dict[str, Any]]:
    """The utilisation report's counterparty limits, by counterparty."""
    reader = running.signed("risk", "operator:risk-officer", {"risk-officer"})
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=risk.url, timeout=30, trust_env=False) as http:
        while True:
            params: dict[str, Any] = {"limit": MAX_PAGE}
            if cursor:
                params["cursor"] = cursor
            answer = await http.get(
                "/v1/reports/limit-utilisation", params=params, headers=reader()
            )
            if answer.status_code != 200:
                raise Skip(f"limit-utilisation answered {answer.status_code}: {answer.text[:200]}")
            page = answer.json()
            for item in page["items"]:
                if item["dimension"] == "counterparty":
                    found[item["counterparty"]] = item
            cursor = page.get("next_cursor")
            if not cursor:
                return found


async def run(report: Report) -> None:
    try:
        async with stack(["risk"], gateway=False) as running:
            await measure(report, running)
    except Skip as exc:
        report.say(f"exposure projection benchmark skipped: {exc}")


async def measure(report: Report, running: Stack) -> None:
    risk = running.services["risk"]
    risk_url, ns = risk.env["RISK_DATABASE_URL"], risk.env["TOPIC_NAMESPACE"]
    specs = limit_specs(random.Random(11), PER_COUNTERPARTY)
    await approved_limits(risk, running, specs)

    ledger_url = await create_database("ledger_deals")
    engine = create_engine(ledger_url)
    store = PostgresEventStore(source="/ledger")
    topic = events_topic("ledger", ns)
    expected: dict[str, int] = {}
    try:
        started = time.perf_counter()
        total = await fill(engine, store, deal_appends(expected))
        filled = time.perf_counter() - started
        producer = create_producer(kafka_bootstrap(), client_id="bench-risk-exposure")
        await producer.start()
        try:
            relay = OutboxRelay(engine, store, producer, topic, PARTITIONS)
            started = time.perf_counter()
            while relay.published < total:
                await relay.publish_once()
            relayed = time.perf_counter() - started
        finally:
            await producer.stop()
        done, waited = await wait_until(lambda: handled(risk_url), total, BUDGET - relayed)
        seconds = relayed + waited
    finally:
        await engine.dispose()
    report.note(
        f"setup: {len(specs)} limits approved over HTTP; {total:,} ledger events "
        f"({ACCOUNTS} AccountOpened, {ENTRIES:,} JournalEntryPosted with counterparty and desk) "
        f"appended in {filled:.1f}s; the relay published them in {relayed:.1f}s"
    )
    consumed, bare_seconds = await bare_consume(topic)
    result = Result(
        name="exposure inbox, ledger events processed",
        value=done / seconds,
        unit="events/s",
        detail=f"({done:,} of {total:,} in {seconds:.1f}s, from the relay's start)",
        baseline_name="bare consume+decode",
        baseline_value=consumed / bare_seconds,
        baseline_detail=f"({bare_seconds:.1f}s)",
        figure="risk-inbox",
    )
    if done < total:
        result.notes.append(
            f"STOPPED after {BUDGET:.0f}s with {done:,} of {total:,} events handled "
            "(rate from inbox_messages)"
        )
    report.add(result)
    if done < total:
        return
    try:
        await check(report, risk, running, expected)
    except Skip as exc:
        report.say(f"    WARNING: exposures not checked: {exc}")
    report.note(
        f"inbox batches of up to {LedgerExposures.max_records} records, one transaction each"
    )


async def check(report: Report, risk: Service, running: Stack, expected: dict[str, int]) -> None:
    """Compares the utilisation report's counterparty exposures with ``expected``."""

    async def matching() -> int:
        found = await utilisation(risk, running)
        return sum(
            1
            for cp, amount in expected.items()
            if found.get(cp, {}).get("exposure", {}).get("total") == amount
        )

    matched, _ = await wait_until(matching, len(expected), CHECK_TIMEOUT, every=1.0)
    found = await utilisation(risk, running)
    states: dict[str, int] = {}
    for item in found.values():
        states[item["threshold_state"]] = states.get(item["threshold_state"], 0) + 1
    shown = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    if matched == len(expected):
        report.say(
            f"    checked: the utilisation report's exposure equals the recomputed one for all "
            f"{matched} counterparties; counterparty limits: {shown}"
        )
    else:
        report.say(
            f"    WARNING: the utilisation report matches the recomputed exposure for "
            f"{matched} of {len(expected)} counterparties after {CHECK_TIMEOUT:.0f}s"
        )

"""The trace context stored with the ledger's events: written when traces are on, NULL when
off, outside the hash chains (a changed trace context is not a changed history, a changed
amount still is), and brought to an event store made before it by migration 0004."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from ledger.__main__ import MIGRATIONS
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from shared_kernel import tracing
from shared_kernel.db import create_engine
from shared_kernel.envelope import Actor
from shared_kernel.eventstore import EventMetadata, NewEvent, PostgresEventStore, StreamAppend
from shared_kernel.migrations import upgrade
from shared_kernel.testing import CreateDatabase, Headers

from .ledger_api import entry, open_account, post
from .test_ledger_tamper_evidence import behind_the_systems_back

pytestmark = pytest.mark.integration


async def trace_contexts(client: httpx.AsyncClient) -> list[str | None]:
    engine = client.ledger.runtime.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT traceparent FROM events ORDER BY position"))
        return [row.traceparent for row in rows]


async def verified(client: httpx.AsyncClient, as_role: Headers) -> dict[str, object]:
    answer = await client.get("/v1/verification", headers=as_role("auditor", "none"))
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


async def test_events_carry_the_requests_trace_outside_the_hash_chain(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(ledger_client, headers, "1200", "asset")  # traces still off
    spans = InMemorySpanExporter()
    with tracing.record_spans(spans):
        revenue = await open_account(ledger_client, headers, "8400", "revenue")
        posted = await post(ledger_client, headers, entry(bank, revenue, 100_00, voucher="T-1"))
    assert posted.status_code == 201
    served = [s for s in spans.get_finished_spans() if s.name == "POST /v1/journal-entries"]
    [untraced, *traced] = await trace_contexts(ledger_client)
    assert untraced is None
    assert traced[-1] == tracing.format_traceparent(served[0].context)
    assert all(tracing.parse_traceparent(t) is not None for t in traced)
    assert (await verified(ledger_client, as_role))["intact"] is True

    # How an event was traced is not what happened: changing it breaks no chain...
    await behind_the_systems_back(
        ledger_client,
        "UPDATE events SET traceparent = :other WHERE stream_id = :entry",
        other=f"00-{'1' * 32}-{'2' * 16}-01",
        entry=posted.json()["id"],
    )
    assert (await verified(ledger_client, as_role))["intact"] is True
    # ...while changing what happened still does.
    await behind_the_systems_back(
        ledger_client,
        "UPDATE events SET data = jsonb_set(data, '{text}', '\"other\"') WHERE stream_id = :entry",
        entry=posted.json()["id"],
    )
    assert (await verified(ledger_client, as_role))["intact"] is False


async def test_migration_0004_gives_an_older_event_store_its_trace_columns(
    create_database: CreateDatabase,
) -> None:
    url = await create_database("ledger")
    await asyncio.to_thread(upgrade, url, MIGRATIONS, "0003")
    engine = create_engine(url, pool_size=1)
    store = PostgresEventStore("/ledger")
    metadata = EventMetadata(Actor("user:anna", "back"), "case", "case")
    thing = [NewEvent("ledger.Thing", 1, {"n": 1})]
    try:
        async with engine.begin() as conn:
            await store.append(conn, [StreamAppend("s-1", "thing", 0, thing)], metadata)
            # A store made before traces has no trace columns (0001 now makes them at once).
            await conn.execute(sa.text("ALTER TABLE events DROP COLUMN traceparent"))
            await conn.execute(sa.text("ALTER TABLE events DROP COLUMN tracestate"))
        await asyncio.to_thread(upgrade, url, MIGRATIONS)
        traced = EventMetadata(
            metadata.actor, "case", "case", f"00-{'a' * 32}-{'b' * 16}-01", "vendor=x"
        )
        async with engine.begin() as conn:
            await store.append(conn, [StreamAppend("s-1", "thing", 1, thing)], traced)
            older, newer = await store.read_stream(conn, "s-1")
            report = await store.verify_chain(conn)
        assert (older.traceparent, older.tracestate) == ("", "")
        assert (newer.traceparent, newer.tracestate) == (traced.traceparent, "vendor=x")
        assert report.intact and report.checked == 2
    finally:
        await engine.dispose()

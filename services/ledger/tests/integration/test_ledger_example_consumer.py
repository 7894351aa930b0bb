"""The data teams' example consumer (``examples/load_events_into_duckdb.py``) on a real ledger's
topic: run as a user runs it, it loads every event the ledger stored, once, into DuckDB, with
a line per posted journal line; a record that breaks the published schema is refused, named
and counted, and the exit status says so."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import sqlalchemy as sa
from ledger.bootstrap import LedgerSettings
from shared_kernel import schema
from shared_kernel.db import create_engine
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.testing import Headers

from .test_ledger_reports import keep_the_books

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "load_events_into_duckdb.py"


def run_example(settings: LedgerSettings, database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--bootstrap",
            settings.kafka_bootstrap_servers,
            "--namespace",
            settings.topic_namespace,
            "--topic",
            "ledger.events",
            "--database",
            str(database),
            "--contracts",
            "services",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def published_events(settings: LedgerSettings) -> dict[str, str]:
    """The ledger's own record, once the relay has published all of it (the example reads
    the topic only): event id -> versioned type, from its event store."""
    engine = create_engine(settings.database_url, pool_size=1)
    events = schema.events.c
    try:
        for _ in range(300):
            async with engine.connect() as conn:
                stored = (await conn.execute(sa.select(sa.func.max(events.position)))).scalar()
                relayed = (
                    await conn.execute(sa.select(sa.func.max(schema.outbox_cursor.c.position)))
                ).scalar()
                if stored is not None and relayed is not None and relayed >= stored:
                    rows = await conn.execute(
                        sa.select(events.event_id, events.event_type, events.event_version)
                    )
                    return {str(i): f"{t}.v{v}" for i, t, v in rows}
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    raise AssertionError("the relay did not publish every stored event in 30 s")


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


async def test_the_example_loads_every_ledger_event_once_and_refuses_a_broken_one(
    ledger_client: httpx.AsyncClient,
    as_role: Headers,
    ledger_settings: LedgerSettings,
    tmp_path: Path,
) -> None:
    await keep_the_books(ledger_client, as_role)
    stored = await published_events(ledger_settings)
    database = tmp_path / "events.duckdb"

    first = await asyncio.to_thread(run_example, ledger_settings, database)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"loaded {len(stored)} new events" in first.stdout, first.stdout
    rows = query(database, "SELECT id, type, source FROM events")
    assert {row[0]: row[1] for row in rows} == stored
    assert {row[2] for row in rows} == {"/ledger"}
    # The journal as a data team sums it: each currency balances, the sales entry is there.
    balances = query(
        database,
        "SELECT currency, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END), count(*) "
        "FROM journal_lines GROUP BY currency ORDER BY currency",
    )
    assert [(currency, balance) for currency, balance, _ in balances] == [("EUR", 0), ("USD", 0)]
    assert query(
        database,
        "SELECT account_code, side, amount FROM journal_lines "
        "WHERE voucher_number = 'AR-1' ORDER BY side",
    ) == [("8400", "credit", 1_190_00), ("1400", "debit", 1_190_00)]

    # A record that breaks the contract (an amount as text) is refused by name; the rest of
    # the topic is already loaded and a second run adds nothing.
    broken = a_posted_entry()
    broken["data"]["lines"][0]["amount"] = "lots"
    producer = create_producer(ledger_settings.kafka_bootstrap_servers, "example-test")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            events_topic("ledger", ledger_settings.topic_namespace),
            json.dumps(broken).encode(),
            key=b"broken",
        )
    finally:
        await producer.stop()
    second = await asyncio.to_thread(run_example, ledger_settings, database)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "loaded 0 new events" in second.stdout and "refused 1" in second.stdout
    topic = f"{ledger_settings.topic_namespace}ledger.events"
    where = f"{topic}[{sent.partition}]@{sent.offset} ledger.JournalEntryPosted.v1"
    assert where in second.stderr and "['lines'][0]['amount']" in second.stderr, second.stderr
    assert query(database, "SELECT count(*) FROM events") == [(len(stored),)]


def a_posted_entry() -> dict[str, Any]:
    """A well-formed ``ledger.JournalEntryPosted.v1`` CloudEvent of an entry never posted."""
    entry_id = str(uuid.uuid4())
    line = {"account_id": entry_id, "account_code": "1200", "side": "debit", "amount": 1}
    line["currency"] = "EUR"
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/ledger",
        "type": "ledger.JournalEntryPosted.v1",
        "subject": entry_id,
        "time": "2026-11-30T12:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "entry_id": entry_id,
            "voucher_number": "BAD-1",
            "booking_date": "2026-11-30",
            "text": "breaks the contract",
            "lines": [line, {**line, "side": "credit"}],
        },
    }

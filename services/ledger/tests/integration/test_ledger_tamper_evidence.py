"""Tamper evidence: a stored event changed (or removed) behind the system's back, by direct
SQL, is found by the verification, which names the journal entry; endpoint and CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa
from ledger.bootstrap import LedgerSettings
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post

pytestmark = pytest.mark.integration


async def behind_the_systems_back(client: httpx.AsyncClient, statement: str, **params: str) -> None:
    """Run SQL as the superuser with the events table's immutability trigger switched off."""
    engine = client.ledger.runtime.engine  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        await conn.execute(sa.text(statement), params)
        await conn.execute(sa.text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))


async def published(client: httpx.AsyncClient) -> None:
    """Wait until the relay has published, and so sealed, every stored event: a stream's chain
    cannot show its last event removed, the seal chain the relay writes as it publishes can."""
    engine = client.ledger.runtime.engine  # type: ignore[attr-defined]
    for _ in range(500):
        async with engine.connect() as conn:
            head = (await conn.execute(sa.text("SELECT max(position) FROM events"))).scalar()
            cursor = (
                await conn.execute(sa.text("SELECT max(position) FROM outbox_cursor"))
            ).scalar()
        if cursor is not None and cursor >= head:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the relay did not publish the history")


def verify_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "verify"],
        env={**os.environ, "LEDGER_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def book_three(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    bank = await open_account(client, headers, "1200", "asset")
    revenue = await open_account(client, headers, "8400", "revenue")
    ids = []
    for n in range(3):
        answer = await post(client, headers, entry(bank, revenue, 100_00, voucher=f"RE-{n}"))
        ids.append(answer.json()["id"])
    return ids


async def test_a_changed_amount_is_found_and_its_entry_named(
    ledger_client: httpx.AsyncClient, as_role: Headers, ledger_settings: LedgerSettings
) -> None:
    headers = as_role("accountant")
    entries = await book_three(ledger_client, headers)
    intact = await ledger_client.get("/v1/verification", headers=as_role("auditor", "none"))
    assert intact.status_code == 200, intact.text
    # Two accounts opened, then per entry its voucher number's claim and the entry itself.
    assert (intact.json()["intact"], intact.json()["checked"]) == (True, 8)
    cli = await asyncio.to_thread(verify_cli, ledger_settings.database_url)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.startswith("INTACT")

    await behind_the_systems_back(
        ledger_client,
        "UPDATE events SET data = jsonb_set(data, '{lines,0,amount}', '1') "
        "WHERE stream_id = :entry",
        entry=entries[1],
    )

    broken = (await ledger_client.get("/v1/verification", headers=headers)).json()
    assert broken["intact"] is False
    assert broken["checked"] == 5
    mismatch = broken["first_mismatch"]
    assert (mismatch["entry_id"], mismatch["voucher_number"]) == (entries[1], "RE-1")
    assert mismatch["event_type"] == "ledger.JournalEntryPosted.v1"
    assert f"Journal entry {entries[1]} (voucher RE-1)" in broken["detail"]
    cli = await asyncio.to_thread(verify_cli, ledger_settings.database_url)
    assert cli.returncode == 1
    assert cli.stdout.startswith("BROKEN")
    assert entries[1] in cli.stdout


async def test_a_removed_event_is_found_at_the_gap(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    entries = await book_three(ledger_client, headers)
    await published(ledger_client)
    await behind_the_systems_back(
        ledger_client, "DELETE FROM events WHERE stream_id = :entry", entry=entries[0]
    )
    broken = (await ledger_client.get("/v1/verification", headers=headers)).json()
    assert broken["intact"] is False
    # The entry's stream was removed whole, so no stream chain breaks; the seal chain does, at
    # the event after the gap (the claim of the next entry's voucher number).
    mismatch = broken["first_mismatch"]
    assert (mismatch["stream_id"], mismatch["voucher_number"]) == ("voucher:2026:RE-1", "RE-1")


async def test_only_auditors_and_bookkeepers_may_verify(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    refused = await ledger_client.get("/v1/verification", headers=as_role("trader", "front"))
    assert refused.status_code == 403
    risk = await ledger_client.get("/v1/verification", headers=as_role("risk-officer"))
    assert risk.status_code == 403

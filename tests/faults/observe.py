"""The campaign's eyes: the read models through the gateway, every topic from offset zero as
the cluster's admin principal, and the ledger's own hash-chain check (``python -m ledger
verify``). ``reconcile.py`` judges what is read here."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.e2e.topics_from_start import records_from_start
from tests.faults.load import Party
from tests.faults.reconcile import ReadModels, key_in

PAGE = 500
Headers = dict[str, str]


async def pages(gateway: httpx.AsyncClient, path: str, auth: Headers) -> list[dict[str, Any]]:
    """Every item of a paginated list, following its cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        answer = await gateway.get(path, params=params, headers=auth, timeout=60)
        answer.raise_for_status()
        page = answer.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def read_models(
    gateway: httpx.AsyncClient, party: Party, accountant: Headers, officer: Headers, limit_id: str
) -> ReadModels:
    receivable = party.accounts[0]
    lines = await pages(gateway, f"/ledger/v1/accounts/{receivable}/lines", accountant)
    entries = Counter(k for line in lines if (k := key_in(line.get("text"))))
    requests = await pages(gateway, "/ledger/v1/booking-requests", accountant)
    ours = [(k, r) for r in requests if (k := key_in(r.get("text")))]
    limit = await gateway.get(f"/risk/v1/limits/{limit_id}", headers=officer, timeout=60)
    limit.raise_for_status()
    return ReadModels(
        entries=entries,
        deals=Counter(k for k, _ in ours),
        deal_clearance={k: r["clearance"]["status"] for k, r in ours},
        exposure=int(limit.json()["exposure"]["total"]),
    )


async def trial_balance(gateway: httpx.AsyncClient, accountant: Headers) -> dict[str, Any]:
    period = datetime.now(UTC).strftime("%Y-%m")
    answer = await gateway.get(
        "/ledger/v1/reports/trial-balance", params={"period": period}, headers=accountant
    )
    answer.raise_for_status()
    report: dict[str, Any] = answer.json()
    return report


async def event_ids_by_topic(kafka: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every record's CloudEvent id, per topic, from offset zero (``kafka``: the admin
    principal's client settings)."""
    read = await records_from_start(kafka, lambda topic: not topic.startswith("__"))
    return {
        topic: [event_id for record in records if (event_id := cloudevent_id(record.value))]
        for topic, records in read.items()
    }


def cloudevent_id(value: bytes | None) -> str | None:
    try:
        event = json.loads(value or b"")
    except ValueError:
        return None
    return str(event["id"]) if isinstance(event, dict) and "id" in event else None


async def ledger_verify(env: Mapping[str, str]) -> tuple[bool, str]:
    """``python -m ledger verify``, as an operator runs it against the stack's database."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ledger", "verify"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()

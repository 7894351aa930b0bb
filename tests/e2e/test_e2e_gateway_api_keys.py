"""A company system through the gateway with the demo API key that ``seed-demo`` made: it is
a front-office identity (role trader), kept out of the back office, and each of its requests
is one record on the audit topic."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from shared_kernel.kafka import topic_partitions

from .conftest import System

pytestmark = pytest.mark.e2e


async def audit_records(system: System) -> list[dict[str, Any]]:
    topic = f"{system.topic_namespace}gateway.audit"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=system.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for p in range(await topic_partitions(system.kafka_bootstrap, topic))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                records.extend(json.loads(m.value) for m in batch if m.value is not None)
        return records
    finally:
        await consumer.stop()


async def test_a_system_works_with_its_api_key_and_stays_out_of_the_back_office(
    system: System, gateway: httpx.AsyncClient, identity_keys: tuple[Path, Path]
) -> None:
    key = (identity_keys[0].parent / "demo-api-key.txt").read_text().strip()

    me = await gateway.get("/auth/me", headers={"X-API-Key": key})
    journal = await gateway.post(
        "/ledger/v1/journal-entries", json={}, headers={"Authorization": f"ApiKey {key}"}
    )
    forged = await gateway.get("/auth/me", headers={"X-API-Key": key[:-4] + "AAAA"})

    assert me.status_code == 200, me.text
    body = me.json()
    permissions = body.pop("permissions")
    assert body == {
        "subject": "trading-system",
        "roles": ["trader"],
        "office": "front",
        "kind": "system",
    }
    assert "POST /ledger/v1/booking-requests" in permissions
    assert "POST /ledger/v1/journal-entries" not in permissions
    assert journal.status_code == 403
    assert forged.status_code == 401

    wanted = {r.headers["X-Request-Id"]: r for r in (me, journal, forged)}
    deadline = time.monotonic() + 30
    found: dict[str, list[dict[str, Any]]] = {}
    while time.monotonic() < deadline:
        found = {}
        for record in await audit_records(system):
            if record["correlationid"] in wanted:
                found.setdefault(record["correlationid"], []).append(record["data"])
        if len(found) == len(wanted):
            break
        await asyncio.sleep(0.2)
    assert {rid: len(records) for rid, records in found.items()} == dict.fromkeys(wanted, 1)
    decisions = {rid: (r[0]["decision"], r[0]["status"]) for rid, r in found.items()}
    assert sorted(decisions.values()) == [("allow", 200), ("deny", 401), ("deny", 403)]

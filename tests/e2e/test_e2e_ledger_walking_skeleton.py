"""Walking skeleton, as a user meets it: log in at the gateway, open accounts, post an entry,
read the balance back (read your writes), and find the same event on Kafka as CloudEvents."""

from __future__ import annotations

import json
import time
from typing import cast

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from shared_kernel.kafka import events_topic

from .conftest import System, login

pytestmark = pytest.mark.e2e


async def _open(client: httpx.AsyncClient, auth: dict[str, str], code: str, kind: str) -> str:
    response = await client.post(
        "/ledger/v1/accounts",
        json={"code": code, "name": f"Account {code}", "account_type": kind, "currency": "EUR"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_entry_posted_through_gateway_is_read_back_and_on_kafka(
    system: System, gateway: httpx.AsyncClient
) -> None:
    auth = await login(gateway, "accountant")
    bank = await _open(gateway, auth, "1200", "asset")
    revenue = await _open(gateway, auth, "8400", "revenue")

    posted = await gateway.post(
        "/ledger/v1/journal-entries",
        json={
            "voucher_number": "RE-2026-0042",
            "booking_date": "2026-11-26",
            "text": "Invoice 42 paid",
            "lines": [
                {"account_id": bank, "side": "debit", "amount": 119_00, "currency": "EUR"},
                {"account_id": revenue, "side": "credit", "amount": 119_00, "currency": "EUR"},
            ],
        },
        headers={**auth, "Idempotency-Key": "invoice-42"},
    )
    assert posted.status_code == 201, posted.text
    written = posted.json()

    balance = await gateway.get(
        f"/ledger/v1/accounts/{bank}",
        params={"min_position": written["position"]},
        headers=auth,
    )
    assert balance.status_code == 200, balance.text
    assert balance.headers["x-consistent"] == "true"
    assert balance.json()["balance"] == 119_00

    # A retry with the same key is answered with the first result, not booked twice.
    retry = await gateway.post(
        "/ledger/v1/journal-entries",
        json=json.loads(posted.request.content),
        headers={**auth, "Idempotency-Key": "invoice-42"},
    )
    assert retry.json() == written
    lines = await gateway.get(f"/ledger/v1/accounts/{bank}/lines", headers=auth)
    assert len(lines.json()["items"]) == 1

    event = await _find_on_kafka(system, written["id"])
    assert event["specversion"] == "1.0"
    assert event["type"] == "ledger.JournalEntryPosted.v1"
    assert event["source"] == "/ledger"
    assert event["subject"] == written["id"]
    assert event["position"] == written["position"]
    assert event["actor"] == "accountant"
    assert event["actoroffice"] == "back"
    assert event["datacontenttype"] == "application/json"
    assert str(event["time"]).endswith("Z")
    assert cast(dict[str, object], event["data"])["voucher_number"] == "RE-2026-0042"


async def _find_on_kafka(system: System, subject: str) -> dict[str, object]:
    consumer = AIOKafkaConsumer(
        events_topic("ledger", system.topic_namespace),
        bootstrap_servers=system.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    payload = json.loads(record.value or b"{}")
                    if payload.get("subject") == subject:
                        assert record.key == subject.encode()
                        return dict(payload)
    finally:
        await consumer.stop()
    raise AssertionError(f"no event for {subject} on Kafka")


async def test_front_office_and_anonymous_callers_are_kept_out(
    system: System, gateway: httpx.AsyncClient
) -> None:
    entry = {
        "voucher_number": "X-1",
        "booking_date": "2026-11-26",
        "text": "not allowed",
        "lines": [
            {"account_id": "a", "side": "debit", "amount": 1, "currency": "EUR"},
            {"account_id": "b", "side": "credit", "amount": 1, "currency": "EUR"},
        ],
    }
    anonymous = await gateway.post("/ledger/v1/journal-entries", json=entry)
    assert anonymous.status_code == 401
    trader = await login(gateway, "trader")
    refused = await gateway.post("/ledger/v1/journal-entries", json=entry, headers=trader)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    # Straight to the service, around the gateway: no signed identity, no entry.
    async with httpx.AsyncClient(base_url=system.ledger_url) as direct:
        assert (await direct.post("/v1/journal-entries", json=entry)).status_code == 401
        forged = {"X-Backoffice-Identity": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}
        assert (await direct.get("/v1/accounts", headers=forged)).status_code == 401

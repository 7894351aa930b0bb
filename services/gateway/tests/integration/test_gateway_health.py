"""The gateway's health: open without credentials, never audited, and ready only while its
database, Kafka, read models and every service behind it are."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .conftest import RunningGateway

pytestmark = pytest.mark.integration


async def readiness_until(
    running: RunningGateway, status: int, timeout: float = 20.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = await running.client.get("/health/ready")
        if answer.status_code == status or time.monotonic() > deadline:
            assert answer.status_code == status, answer.text
            return {check["name"]: check for check in answer.json()["checks"]}
        await asyncio.sleep(0.2)


async def test_ready_lists_its_own_checks_and_its_services_without_credentials(
    running: RunningGateway,
) -> None:
    live = await running.client.get("/health/live")
    checks = await readiness_until(running, 200)

    assert live.json() == {"status": "live"}
    projections = {f"projection {p.name}" for p in running.gateway.runtime.projections}
    assert set(checks) == {"database", "kafka", "service ledger", *projections}
    assert checks["service ledger"] == {"name": "service ledger", "ok": True, "detail": "ready"}
    assert all(check["ok"] for check in checks.values())


async def test_a_service_not_ready_makes_the_gateway_503_naming_it_and_its_check(
    running: RunningGateway,
) -> None:
    running.ledger.ready = False

    checks = await readiness_until(running, 503)

    assert checks["service ledger"] == {
        "name": "service ledger",
        "ok": False,
        "detail": "answered 503: database failing",
    }
    assert checks["database"]["ok"] and checks["kafka"]["ok"]


async def test_health_requests_are_not_audited_nor_forwarded(running: RunningGateway) -> None:
    await readiness_until(running, 200)
    for path in ("/health", "/health/live", "/health/ready"):
        assert (await running.client.get(path)).status_code == 200
    await asyncio.sleep(0.5)  # time to publish a record, were there one

    audit = running.gateway.audit
    assert running.ledger.received == []
    assert (audit.published, audit.queue.qsize(), audit.dropped) == (0, 0, 0)

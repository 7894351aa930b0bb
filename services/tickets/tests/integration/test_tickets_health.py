"""The tickets service is ready with every read model and inbox within its lag, including the
inbox of dead-letter notices its composition root adds after the runtime is built."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_ready_lists_its_projection_and_both_inboxes(
    tickets_client: httpx.AsyncClient,
) -> None:
    deadline = time.monotonic() + 20
    while (answer := await tickets_client.get("/health/ready")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.2)

    checks = {check["name"]: check for check in answer.json()["checks"]}
    runtime = tickets_client.tickets.runtime  # type: ignore[attr-defined]
    [view] = runtime.projections
    assert set(checks) == {
        "database",
        "kafka",
        f"projection {view.name}",
        "inbox limit_breach_incidents",
        "inbox dead_letter_incidents",
    }
    assert all(check["ok"] for check in checks.values())

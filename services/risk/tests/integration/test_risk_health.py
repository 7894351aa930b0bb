"""The risk service is ready with its four read models and every inbox within its lag."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_ready_lists_every_projection_and_inbox(risk_client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 30
    while (answer := await risk_client.get("/health/ready")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.2)

    checks = {check["name"]: check for check in answer.json()["checks"]}
    runtime = risk_client.risk.runtime  # type: ignore[attr-defined]
    expected = {f"projection {p.name}" for p in runtime.projections}
    expected |= {f"inbox {h.name}" for h in runtime.inboxes}
    assert len(expected) == len(runtime.projections) + len(runtime.inboxes) >= 8
    assert set(checks) == {"database", "kafka", *expected}
    assert all(check["ok"] for check in checks.values())

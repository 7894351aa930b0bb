"""The risk service is ready with its four read models and every inbox within its lag; what
it made at start-up is out of the garbage collector's walks while it runs."""

from __future__ import annotations

import asyncio
import gc
import time

import httpx
import pytest
from risk.bootstrap import RiskSettings

from .conftest import running_risk

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


async def test_start_up_objects_are_set_aside_from_collections_until_stop(
    risk_settings: RiskSettings,
) -> None:
    gc.unfreeze()
    async with running_risk(risk_settings) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 100_000  # the app, its modules and schemas
    assert gc.get_freeze_count() == 0

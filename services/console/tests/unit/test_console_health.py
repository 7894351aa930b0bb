"""The console's health: live without any call; ready while the gateway answers, open to
anyone (no session), never a page of the operators' layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fake_gateway import FakeGateway, browser

pytestmark = pytest.mark.unit


async def test_ready_while_the_gateway_answers(tmp_path: Path) -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/health/live", {"status": "live"})

    async with browser(gateway.app(tmp_path)) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")

    assert live.status_code == 200 and live.json() == {"status": "live"}
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": [{"name": "gateway", "ok": True, "detail": "ready"}],
    }


async def test_not_ready_naming_the_gateway_when_it_does_not_answer(tmp_path: Path) -> None:
    gateway = FakeGateway()  # no answer for /health/live: the fake answers 404
    async with browser(gateway.app(tmp_path)) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")

    assert live.status_code == 200  # the console itself answers
    assert ready.status_code == 503
    assert ready.json()["checks"] == [{"name": "gateway", "ok": False, "detail": "answered 404"}]

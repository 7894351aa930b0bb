"""The ledger's health against real PostgreSQL and Kafka: ready when all is well; not ready,
naming the database, when the database does not answer; not ready, naming the projection,
when the read model is behind by more than ``ready_max_lag_events``."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app
from shared_kernel.db import create_engine
from shared_kernel.health import Check, Readiness
from shared_kernel.health_checks import database_probe
from shared_kernel.testing import Headers, running_app

from .conftest import running_ledger

pytestmark = pytest.mark.integration


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def readiness_until(
    client: httpx.AsyncClient, status: int, timeout: float = 20.0
) -> dict[str, Any]:
    """The readiness answer once it has ``status`` (the Kafka offsets are cached for 1 s and
    the projection needs a moment): its body by check name."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get("/health/ready")
        if answer.status_code == status or time.monotonic() > deadline:
            assert answer.status_code == status, answer.text
            return {check["name"]: check for check in answer.json()["checks"]}
        await asyncio.sleep(0.2)


def projection_check(client: httpx.AsyncClient) -> str:
    """The name of the ledger view's check (the view's name carries its version)."""
    [view] = client.ledger.runtime.projections  # type: ignore[attr-defined]
    return f"projection {view.name}"


async def test_a_healthy_ledger_is_live_and_ready_listing_every_check(
    ledger_settings: LedgerSettings,
) -> None:
    async with running_ledger(ledger_settings) as client:
        assert (await client.get("/health/live")).json() == {"status": "live"}
        assert (await client.get("/health")).status_code == 200

        checks = await readiness_until(client, 200)
        view = projection_check(client)

    assert set(checks) == {"database", "kafka", view, "inbox risk_clearances"}
    assert all(check["ok"] for check in checks.values())
    assert checks["database"]["detail"].startswith("answered in")
    assert checks[view]["detail"] == "up to date"


async def test_an_unreachable_database_makes_it_503_naming_the_database(
    ledger_settings: LedgerSettings,
) -> None:
    # The ledger's own database stays up (shared by other tests); its check is pointed at a
    # port where no database listens, with a password that must not show in the answer.
    unreachable = create_engine(f"postgresql://ledger:s3cret@127.0.0.1:{closed_port()}/ledger")
    try:
        app = create_app(ledger_settings)
        async with running_app(app, "ledger") as client:
            readiness: Readiness = app.state.readiness
            readiness.checks = [
                Check("database", database_probe(unreachable)) if c.name == "database" else c
                for c in readiness.checks
            ]

            answer = await client.get("/health/ready")
    finally:
        await unreachable.dispose()

    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    failing = [check for check in body["checks"] if not check["ok"]]
    assert [check["name"] for check in failing] == ["database"]
    assert "s3cret" not in answer.text


async def test_a_projection_behind_by_more_than_the_limit_makes_it_503_naming_it(
    ledger_settings: LedgerSettings, as_role: Headers
) -> None:
    # The projection does not run (paused), the relay does: what a command writes reaches the
    # topic and stays unapplied; no event may be behind.
    async with running_ledger(
        ledger_settings, run_projections=False, ready_max_lag_events=0
    ) as client:
        await readiness_until(client, 200)
        opened = await client.post(
            "/v1/accounts",
            json={"code": "1000", "name": "Cash", "account_type": "asset", "currency": "EUR"},
            headers=as_role(),
        )
        assert opened.status_code == 201, opened.text

        checks = await readiness_until(client, 503)
        view = projection_check(client)

    lagging = checks[view]
    assert not lagging["ok"]
    assert "events behind (" in lagging["detail"]
    assert "more than the 0 allowed" in lagging["detail"]
    assert checks["database"]["ok"] and checks["kafka"]["ok"]

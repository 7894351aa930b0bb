"""A real gateway (PostgreSQL, Kafka, its lifespan) called in-process over ASGI, with the ledger
behind it faked: it answers every request with 200, and its OpenAPI document lists exactly the
ledger routes of the shipped policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from gateway.__main__ import MIGRATIONS
from gateway.adapters.passwords import Passwords
from gateway.adapters.policy_file import load_policy
from gateway.app.operators import RegisterOperator
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.settings import POLICY_FILE, GatewaySettings
from shared_kernel.identity import Caller
from shared_kernel.migrations import upgrade
from shared_kernel.testing import CreateDatabase

ADMIN_PASSWORD = "admin-password-1"


@dataclass
class FakeLedger:
    openapi: dict[str, Any]
    received: list[httpx.Request] = field(default_factory=list)
    # What its readiness answers: ready, or not ready with its database failing.
    ready: bool = True
    probed: int = 0  # the gateway's /health/live probes

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json=self.openapi)
        if request.url.path == "/health/live":
            # The gateway's replica probe (adapters/replicas.py): not a forwarded request.
            self.probed += 1
            return httpx.Response(200, json={"status": "live"})
        if request.url.path == "/health/ready":
            database = {"name": "database", "ok": self.ready, "detail": "..."}
            status = "ready" if self.ready else "not ready"
            body = {"status": status, "checks": [database]}
            return httpx.Response(200 if self.ready else 503, json=body)
        self.received.append(request)
        return httpx.Response(200, json={"items": []})


@dataclass
class RunningGateway:
    client: httpx.AsyncClient
    gateway: Gateway
    ledger: FakeLedger

    async def log_in(self, username: str, password: str) -> dict[str, str]:
        response = await self.client.post(
            "/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def admin(self) -> dict[str, str]:
        return await self.log_in("root", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def ledger_openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in load_policy(POLICY_FILE).rules:
        if rule.service == "ledger":
            paths.setdefault(rule.template.text, {})[rule.method.lower()] = {
                "responses": {"200": {"description": "OK"}}
            }
    return {"openapi": "3.1.0", "info": {"title": "ledger", "version": "1"}, "paths": paths}


@pytest.fixture
async def gateway_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> GatewaySettings:
    url = await create_database("gateway")
    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    return GatewaySettings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        topic_partitions=2,
        identity_private_key_file=identity_keys[0],
        identity_public_key_file=identity_keys[1],
        services={"ledger": "http://ledger.test"},
        login_attempts_per_minute_per_username_and_client=5,
        login_attempts_per_minute_per_client=8,
    )


StartGateway = Callable[..., Awaitable[RunningGateway]]


@pytest.fixture
async def start_gateway(
    gateway_settings: GatewaySettings, ledger_openapi: dict[str, Any]
) -> AsyncIterator[StartGateway]:
    """Starts gateway processes (lifespan and all) on one database; the first one registers
    the administrator ``root``. Settings can be overridden per call."""
    stack: list[Any] = []
    fast = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    async def start(**overrides: Any) -> RunningGateway:
        settings = gateway_settings.model_copy(update=overrides)
        ledger = FakeLedger(ledger_openapi)
        app = create_app(
            settings, upstream_transport=httpx.MockTransport(ledger.handle), passwords=fast
        )
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw.test")
        stack.append(client)
        gateway: Gateway = app.state.gateway
        if len(stack) == 2:
            await gateway.register_operator(
                RegisterOperator("root", "Root", frozenset({"admin"}), ADMIN_PASSWORD),
                Caller.system("test"),
            )
        return RunningGateway(client, gateway, ledger)

    yield start
    for opened in reversed(stack):
        if isinstance(opened, httpx.AsyncClient):
            await opened.aclose()
        else:
            await opened.__aexit__(None, None, None)


@pytest.fixture
async def running(start_gateway: StartGateway) -> RunningGateway:
    return await start_gateway()

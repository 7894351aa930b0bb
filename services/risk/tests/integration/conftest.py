"""A real risk service (PostgreSQL, Kafka, relay, projections) called in-process over ASGI.

Fixtures for every risk integration test: ``risk_settings`` (a fresh migrated database and
topic namespace), ``as_role`` (signed identity headers), ``risk_client`` (the running app);
``running_risk`` starts the app with other settings or an injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from risk.__main__ import MIGRATIONS
from risk.bootstrap import RiskSettings
from risk.main import create_app
from shared_kernel.identity import IDENTITY_HEADER, Identity, IdentitySigner
from shared_kernel.migrations import upgrade
from shared_kernel.testing import CreateDatabase


@pytest.fixture
async def risk_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> RiskSettings:
    url = await create_database("risk")
    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    return RiskSettings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        identity_public_key_file=identity_keys[1],
    )


Headers = Callable[..., dict[str, str]]


@pytest.fixture
def as_role(identity_signer: IdentitySigner) -> Headers:
    """``as_role("risk-officer", subject="user:anna")`` -> headers of a signed identity."""

    def _headers(
        role: str = "risk-officer",
        office: str = "back",
        subject: str | None = None,
        kind: str = "user",
    ) -> dict[str, str]:
        identity = Identity(
            subject=subject or f"user:{role}",
            roles=frozenset({role}),
            office=office,
            request_id=str(uuid4()),
            kind=kind,
        )
        return {IDENTITY_HEADER: identity_signer.sign(identity, audience="risk")}

    return _headers


@pytest.fixture
async def risk_client(risk_settings: RiskSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_risk(risk_settings) as client:
        yield client


@contextlib.asynccontextmanager
async def running_risk(
    settings: RiskSettings, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The risk app with its runtime started, called in-process; ``app.state.risk`` is
    reachable as ``client.risk``."""
    settings = settings.model_copy(update=overrides)
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://risk", timeout=60
        ) as client:
            client.risk = app.state.risk  # type: ignore[attr-defined]
            yield client

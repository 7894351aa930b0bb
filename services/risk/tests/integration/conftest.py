"""A real risk service (PostgreSQL, Kafka, relay, projections) called in-process over ASGI.

Fixtures for every risk integration test: ``risk_settings`` (a fresh migrated database and
topic namespace), ``as_role`` (signed identity headers), ``risk_client`` (the running app);
``running_risk`` starts the app with other settings or an injected clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from risk.__main__ import MIGRATIONS
from risk.bootstrap import RiskSettings
from risk.main import create_app
from shared_kernel.identity import IdentitySigner
from shared_kernel.testing import (
    CreateDatabase,
    Headers,
    migrated_database,
    running_app,
    signed_headers,
)


@pytest.fixture
async def risk_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> RiskSettings:
    return RiskSettings(
        environment="test",
        database_url=await migrated_database(create_database, "risk", MIGRATIONS),
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        identity_public_key_file=identity_keys[1],
    )


@pytest.fixture
def as_role(identity_signer: IdentitySigner) -> Headers:
    """``as_role("risk-officer", subject="user:anna")`` -> headers of a signed identity."""
    return signed_headers(identity_signer, "risk", "risk-officer")


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
    async with running_app(app, "risk") as client:
        yield client

"""A real ledger (PostgreSQL, Kafka, relay, projection) called in-process over ASGI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ledger.__main__ import MIGRATIONS
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app
from shared_kernel.identity import IdentitySigner
from shared_kernel.testing import (
    CreateDatabase,
    Headers,
    migrated_database,
    running_app,
    signed_headers,
)


@pytest.fixture
async def ledger_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> LedgerSettings:
    return LedgerSettings(
        environment="test",
        database_url=await migrated_database(create_database, "ledger", MIGRATIONS),
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        identity_public_key_file=identity_keys[1],
    )


@pytest.fixture
def as_role(identity_signer: IdentitySigner) -> Headers:
    return signed_headers(identity_signer, "ledger", "accountant")


@pytest.fixture
async def ledger_client(ledger_settings: LedgerSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_ledger(ledger_settings) as client:
        yield client


@contextlib.asynccontextmanager
async def running_ledger(
    settings: LedgerSettings, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The ledger app with its runtime started, called in-process; ``app.state.ledger`` is
    reachable as ``client.ledger``."""
    settings = settings.model_copy(update=overrides)
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    async with running_app(app, "ledger") as client:
        yield client

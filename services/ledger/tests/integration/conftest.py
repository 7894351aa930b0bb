"""A real ledger (PostgreSQL, Kafka, relay, projection) called in-process over ASGI."""

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
from ledger.__main__ import MIGRATIONS
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app
from shared_kernel.identity import IDENTITY_HEADER, Identity, IdentitySigner
from shared_kernel.migrations import upgrade
from shared_kernel.testing import CreateDatabase


@pytest.fixture
async def ledger_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> LedgerSettings:
    url = await create_database("ledger")
    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    return LedgerSettings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        identity_public_key_file=identity_keys[1],
    )


Headers = Callable[..., dict[str, str]]


@pytest.fixture
def as_role(identity_signer: IdentitySigner) -> Headers:
    def _headers(
        role: str = "accountant", office: str = "back", subject: str | None = None
    ) -> dict[str, str]:
        identity = Identity(
            subject=subject or f"user:{role}",
            roles=frozenset({role}),
            office=office,
            request_id=str(uuid4()),
        )
        return {IDENTITY_HEADER: identity_signer.sign(identity, audience="ledger")}

    return _headers


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
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ledger", timeout=60
        ) as client:
            client.ledger = app.state.ledger  # type: ignore[attr-defined]
            yield client

"""A real ledger (PostgreSQL, Kafka, relay, projection) called in-process over ASGI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
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
    app = create_app(ledger_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            yield client

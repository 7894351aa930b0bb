"""A real tickets service (PostgreSQL, Kafka, relay, projection) called in-process over
ASGI, with a clock the tests move."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from shared_kernel.identity import IdentitySigner
from shared_kernel.testing import (
    CreateDatabase,
    Headers,
    migrated_database,
    running_app,
    signed_headers,
)
from tickets.__main__ import MIGRATIONS
from tickets.bootstrap import TicketsSettings
from tickets.main import create_app

# A Monday, 09:00 in Berlin: inside the default calendar's business hours.
MONDAY_9_BERLIN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = MONDAY_9_BERLIN

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def tickets_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> TicketsSettings:
    return TicketsSettings(
        environment="test",
        database_url=await migrated_database(create_database, "tickets", MIGRATIONS),
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=topic_namespace,
        identity_public_key_file=identity_keys[1],
        run_sla_scheduler=False,
    )


@pytest.fixture
def as_role(identity_signer: IdentitySigner) -> Headers:
    return signed_headers(identity_signer, "tickets", "it-support")


@pytest.fixture
async def tickets_client(
    tickets_settings: TicketsSettings, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_tickets(tickets_settings, clock) as client:
        yield client


@contextlib.asynccontextmanager
async def running_tickets(
    settings: TicketsSettings, clock: Callable[[], datetime], **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The tickets app with its runtime started, called in-process; ``app.state.tickets`` is
    reachable as ``client.tickets``."""
    app = create_app(settings.model_copy(update=overrides), clock=clock)
    async with running_app(app, "tickets") as client:
        yield client

"""Pytest fixtures for real PostgreSQL and Kafka, shared by every service's tests.

``make test`` starts a PostgreSQL server and a Kafka broker and exports ``TEST_DATABASE_URL``
(a server URL; each test gets a fresh database on it) and ``KAFKA_BOOTSTRAP_SERVERS``; without
them, :mod:`shared_kernel.test_servers` chooses (testcontainers where a Docker engine answers).
Tests isolate themselves with random database names and a random topic namespace, never by
truncating shared tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from shared_kernel.db import create_engine
from shared_kernel.identity import (
    IDENTITY_HEADER,
    Caller,
    IdentitySigner,
    ensure_keypair,
    key_id_of,
)
from shared_kernel.migrations import upgrade
from shared_kernel.test_servers import TestServers, provided_servers


@pytest.fixture(scope="session")
def test_servers() -> Iterator[TestServers]:
    """The one place where the session's PostgreSQL and Kafka are chosen (given, testcontainers
    or embedded: see shared_kernel.test_servers), exported as TEST_DATABASE_URL and
    KAFKA_BOOTSTRAP_SERVERS until the session ends."""
    with provided_servers(os.environ) as servers:
        yield servers


@pytest.fixture(autouse=True)
def _servers_for_integration_tiers(request: pytest.FixtureRequest) -> None:
    """Integration and e2e tests get the servers (and their variables) even when they read
    the environment instead of a fixture; unit tests never wait for them."""
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        request.getfixturevalue("test_servers")


@pytest.fixture(scope="session")
def kafka_bootstrap(test_servers: TestServers) -> str:
    return test_servers.kafka_bootstrap


@pytest.fixture(scope="session")
def database_server_url(test_servers: TestServers) -> str:
    return test_servers.database_url


@pytest.fixture
def topic_namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


CreateDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture
async def create_database(database_server_url: str) -> AsyncIterator[CreateDatabase]:
    """A factory: ``await create_database("ledger")`` gives the URL of a new empty database,
    dropped again when the test ends."""
    made: list[str] = []
    admin = create_engine(database_server_url, pool_size=1)

    async def _create(label: str) -> str:
        name = f"test_{label}_{uuid.uuid4().hex[:12]}"
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return (
            make_url(database_server_url).set(database=name).render_as_string(hide_password=False)
        )

    yield _create
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in made:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
def identity_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh gateway key pair for the test session: (private PEM file, public PEM file)."""
    return ensure_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def identity_signer(identity_keys: tuple[Path, Path]) -> IdentitySigner:
    private, public = identity_keys
    return IdentitySigner(private.read_bytes(), key_id_of(public.read_bytes()))


Headers = Callable[..., dict[str, str]]


def signed_headers(signer: IdentitySigner, audience: str, default_role: str) -> Headers:
    """``headers(role, office="back", subject=None, kind="user")``: the header of an identity
    signed as the gateway signs it, for calling a service directly in tests."""

    def _headers(
        role: str = default_role,
        office: str = "back",
        subject: str | None = None,
        kind: str = "user",
    ) -> dict[str, str]:
        caller = Caller(
            subject=subject or f"user:{role}",
            roles=frozenset({role}),
            office=office,
            request_id=str(uuid.uuid4()),
            kind=kind,
        )
        return {IDENTITY_HEADER: signer.sign(caller, audience=audience)}

    return _headers


async def migrated_database(create_database: CreateDatabase, label: str, migrations: Path) -> str:
    """A fresh database with a service's migrations applied; its URL."""
    url = await create_database(label)
    await asyncio.to_thread(upgrade, url, migrations)
    return url


@contextlib.asynccontextmanager
async def running_app(app: FastAPI, service: str) -> AsyncIterator[httpx.AsyncClient]:
    """A service's app with its lifespan (runtime, relay, projections) started, called
    in-process over ASGI; ``app.state.<service>`` is reachable as ``client.<service>``."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{service}", timeout=60
        ) as client:
            setattr(client, service, getattr(app.state, service))
            yield client


MetricSamples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape_metrics(client: httpx.AsyncClient) -> MetricSamples:
    """``GET /metrics`` as Prometheus calls it (no credentials), parsed: the value of each
    sample by its name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def metric_value(samples: MetricSamples, name: str, **labels: str) -> float:
    """The sample of exactly these labels (0 when absent: a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)

"""Rate limits that hold across gateways: two gateways (two engines, or two whole gateway
apps) on one real PostgreSQL share every bucket.

Per identity each gateway leases a few tokens at a time, so together they serve at most
``burst + per_second * seconds + gateways * lease``; log-in limits are one take per attempt,
so across gateways they are exact."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from gateway.__main__ import MIGRATIONS
from gateway.adapters.leases import LeasedBuckets, lease_size
from gateway.adapters.shared_buckets import BucketTable, RateLimitStoreUnavailable
from shared_kernel.db import create_engine
from shared_kernel.testing import CreateDatabase, migrated_database
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import ADMIN_PASSWORD, RunningGateway, StartGateway

pytestmark = pytest.mark.integration


@pytest.fixture
async def engines(create_database: CreateDatabase) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one migrated gateway database: the pools of two gateways."""
    url = await migrated_database(create_database, "gateway", MIGRATIONS)
    made = [create_engine(url), create_engine(url)]
    yield made
    for engine in made:
        await engine.dispose()


async def bucket_keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT key FROM rate_limit_buckets ORDER BY key"))
        return [row.key for row in rows]


async def test_two_gateways_serve_no_more_than_the_bucket_plus_a_lease_each(
    engines: list[AsyncEngine],
) -> None:
    per_second, burst = 20.0, 40
    lease = lease_size(burst)
    gateways = [
        LeasedBuckets(BucketTable(e).buckets("identity", per_second, burst), lease=lease)
        for e in engines
    ]
    served = 0

    async def hammer(gateway: LeasedBuckets, until: float) -> None:
        nonlocal served
        while time.monotonic() < until:
            taken = await gateway.take("user:ada")
            served += taken.granted  # not ``served += await ...``: read before the await
            await asyncio.sleep(0.001)  # a refusal from the lease does not yield by itself

    started = time.monotonic()
    await asyncio.gather(*(hammer(g, started + 1.5) for g in gateways for _ in range(5)))
    seconds = time.monotonic() - started

    assert burst <= served <= burst + per_second * seconds + len(gateways) * lease


async def test_concurrent_takes_from_two_gateways_never_over_admit(
    engines: list[AsyncEngine],
) -> None:
    shared = [BucketTable(e).buckets("identity", 0.001, 50) for e in engines]

    answers = await asyncio.gather(*(s.take("user:bo") for s in shared for _ in range(80)))

    assert sum(a.granted for a in answers) == 50
    refused = [a for a in answers if not a.granted]
    assert len(refused) == 110 and all(a.wait_seconds > 900 for a in refused)


async def test_full_buckets_are_forgotten_and_a_forgotten_bucket_starts_full(
    engines: list[AsyncEngine],
) -> None:
    table = BucketTable(engines[0])
    quick = table.buckets("quick", per_second=1000, burst=2)
    slow = table.buckets("slow", per_second=0.001, burst=2)
    await quick.take("ada", 2)
    await slow.take("ada")
    await asyncio.sleep(0.05)  # refills the quick bucket, not the slow one

    forgotten = await table.forget_full()

    assert forgotten == 1
    assert await bucket_keys(engines[0]) == ["slow:ada"]
    assert (await quick.take("ada", 5)).granted == 2  # as full as before it was forgotten
    assert (await slow.take("ada", 5)).granted == 1  # its row kept the take


async def test_a_database_that_cannot_be_reached_is_refused_as_unavailable() -> None:
    nowhere = create_engine("postgresql://postgres@127.0.0.1:1/gateway")
    try:
        with pytest.raises(RateLimitStoreUnavailable):
            await BucketTable(nowhere).buckets("identity", 1, 1).take("user:ada")
    finally:
        await nowhere.dispose()


async def log_in(running: RunningGateway, username: str, password: str = "wrong") -> int:
    response = await running.client.post(
        "/auth/login", json={"username": username, "password": password}
    )
    return response.status_code


async def test_log_in_limits_are_exact_across_two_gateways(start_gateway: StartGateway) -> None:
    first, second = await start_gateway(), await start_gateway()
    # 5 attempts per minute per username from one address, 8 per address (see conftest)
    by_pair = [await log_in(gateway, "root") for gateway in [first, second] * 3]
    by_client = [await log_in(gateway, f"user-{n}") for n, gateway in enumerate([second] * 3)]

    assert by_pair == [401] * 5 + [429]
    assert by_client == [401, 401, 429]  # 8 attempts from this address in all


async def test_the_limit_per_identity_holds_across_two_gateways(
    start_gateway: StartGateway,
) -> None:
    first = await start_gateway(rate_limit_per_second=0.1, rate_limit_burst=4)
    second = await start_gateway(rate_limit_per_second=0.1, rate_limit_burst=4)
    admin = await first.admin()

    answers = [
        await gateway.client.get("/admin/v1/operators", headers=admin)
        for gateway in [first, second] * 3
    ]

    assert [a.status_code for a in answers] == [200] * 4 + [429] * 2
    assert answers[4].json()["code"] == "RateLimited"


async def test_log_in_while_the_database_is_away_is_answered_503(
    start_gateway: StartGateway, database_server_url: str
) -> None:
    running = await start_gateway()
    name = make_url(str(running.gateway.settings.database_url)).database
    server = create_engine(database_server_url, pool_size=1)

    async def allow_connections(allowed: bool) -> None:
        async with server.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(
                sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )
            if not allowed:
                await connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    try:
        await allow_connections(False)
        away = await running.client.post(
            "/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
        )
        await allow_connections(True)
        back = await log_in(running, "root", ADMIN_PASSWORD)
    finally:
        await allow_connections(True)
        await server.dispose()

    assert away.status_code == 503, away.text
    assert away.headers["content-type"] == "application/problem+json"
    assert (away.json()["code"], away.headers["Retry-After"]) == ("ServiceUnavailable", "1")
    assert back == 200

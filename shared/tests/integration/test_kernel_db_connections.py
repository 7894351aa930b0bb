"""Pooled connections without a ping on checkout: a connection the server closed (as a
PostgreSQL restart closes every one) is replaced at checkout, so the next request works; and
a read of a read model runs without a transaction around it."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from shared_kernel.db import create_engine
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.testing import CreateDatabase
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

POOLED = 4


async def backend_pids(engine: AsyncEngine) -> set[int]:
    """Check out ``POOLED`` connections at once (so that the pool holds that many), note the
    server process of each, and give them back to the pool."""
    connections = [await engine.connect() for _ in range(POOLED)]
    try:
        return {
            int((await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())
            for c in connections
        }
    finally:
        for conn in connections:
            await conn.close()


async def terminate(server_url: str, pids: set[int]) -> None:
    """What a server restart does to every connection: the server ends its process."""
    admin = create_engine(server_url, pool_size=1)
    try:
        async with admin.connect() as conn:
            for pid in pids:
                await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_connections_the_server_closed_are_replaced_at_checkout(
    create_database: CreateDatabase, database_server_url: str
) -> None:
    engine = create_engine(await create_database("connections"))
    try:
        before = await backend_pids(engine)
        assert len(before) == POOLED
        await terminate(database_server_url, before)
        await asyncio.sleep(0.2)  # the closed sockets reach the event loop

        # Every pooled connection is dead; each request still gets a live one.
        for _ in range(POOLED):
            async with engine.connect() as conn:
                pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
                assert pid not in before
        async with engine.begin() as conn:  # and a write transaction too
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_read_model_read_runs_without_a_transaction(kernel_database: str) -> None:
    engine = create_engine(kernel_database)
    store = ReadModelStore(engine, "probe", sa.MetaData())
    try:
        await store.ensure_live()
        async with store.reading() as conn:
            # Outside a transaction block every statement is its own transaction: the
            # transaction start time moves from one statement to the next.
            first = (await conn.execute(sa.text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            second = (await conn.execute(sa.text("SELECT now()"))).scalar_one()
        assert second > first
        async with engine.begin() as conn:  # a write still runs in a transaction
            first = (await conn.execute(sa.text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            second = (await conn.execute(sa.text("SELECT now()"))).scalar_one()
        assert second == first
    finally:
        await engine.dispose()


async def test_a_transaction_left_idle_by_a_stopped_process_frees_its_locks(
    create_database: CreateDatabase,
) -> None:
    """A process stopped (SIGSTOP) in the middle of a transaction looks to the server like a
    connection idle in that transaction: the server ends it, and its locks are free for the
    replica that waits for them."""
    url = await create_database("idle_in_transaction")
    stopped = create_engine(url, pool_size=1, idle_in_transaction_seconds=1)
    other = create_engine(url, pool_size=1)
    try:
        frozen = await stopped.connect()
        await frozen.execute(sa.text("SELECT pg_advisory_xact_lock(42)"))  # then nothing
        async with other.connect() as conn:
            timeout = await conn.execute(sa.text("SHOW idle_in_transaction_session_timeout"))
            assert timeout.scalar_one() == "10s"  # the default of every engine
            async with asyncio.timeout(10):  # waits until the server ends the idle one
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(42)"))
            await conn.rollback()
        with pytest.raises(sa.exc.DBAPIError):  # the stopped process finds it gone
            await frozen.execute(sa.text("SELECT 1"))
        await frozen.invalidate()
    finally:
        await stopped.dispose()
        await other.dispose()

"""The relay's leadership connection, which also LISTENs: an idle relay wakes up on an append's
notification (``AppendSignal``), not on its fallback poll, and publishes a new event in
milliseconds however long the poll interval; a relay whose connection (and so its lock) is
gone stops publishing."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

import pytest
import sqlalchemy as sa
from kernel_harness import (
    SOURCE,
    KernelTopics,
    append,
    new_stream_id,
    running_relay,
    wait_until,
)
from shared_kernel.append_signal import AppendSignal
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.outbox import RELAY_LOCK_KEY
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

FALLBACK_POLL = 30.0  # far beyond the test's patience: only a notification can wake the relay


async def test_an_idle_relay_publishes_a_new_event_on_its_notification(
    engine: AsyncEngine, kernel_database: str, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    signal = AppendSignal(kernel_database)
    signalling = asyncio.create_task(signal.run(), name="append signal")
    stream_id, latencies = new_stream_id(), []
    try:
        async with running_relay(
            engine, kafka_bootstrap, kernel_topics, fallback_poll=FALLBACK_POLL
        ) as background:
            relay = background.extra["relay"]

            async def listening() -> bool:
                return bool(relay.listening)

            await wait_until(listening, "the relay to listen", timeout=30, watch=[background])
            for version in range(5):
                await asyncio.sleep(0.2)  # idle: the relay waits for a notification
                committed = time.perf_counter()
                await append(engine, store, stream_id, version, [version])
                signal.committed()

                async def published(count: int = version + 1) -> bool:
                    return int(relay.published) >= count

                await wait_until(
                    published, "the notified relay to publish", timeout=5, interval=0.001,
                    watch=[background],
                )  # fmt: skip
                latencies.append(time.perf_counter() - committed)
    finally:
        signalling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await signalling
    print(
        f"commit -> acknowledged by Kafka, idle relay: median "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    assert max(latencies) < 2.0  # a relay not woken would wait for its 30 s poll
    assert signal.sent >= 5


async def test_a_relay_that_lost_its_leadership_connection_stops(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    # Leaving the context awaits the relay's task, which ended with the error.
    with pytest.raises(ConnectionError, match="leadership connection was lost"):
        async with running_relay(engine, kafka_bootstrap, kernel_topics) as background:
            relay = background.extra["relay"]

            async def listening() -> bool:
                return bool(relay.listening)

            await wait_until(listening, "the relay to lead", timeout=30, watch=[background])
            async with engine.connect() as conn:
                terminated = await conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                        " JOIN pg_database d ON d.oid = l.database"
                        " WHERE d.datname = current_database() AND l.locktype = 'advisory'"
                        " AND l.classid = :high AND l.objid = :low AND l.granted"
                    ),
                    {"high": RELAY_LOCK_KEY >> 32, "low": RELAY_LOCK_KEY & 0xFFFFFFFF},
                )
                assert terminated.scalars().all() == [True]

            async def stopped() -> bool:
                return background.task.done()

            await wait_until(stopped, "the relay to step down", timeout=10)
            assert isinstance(background.task.exception(), ConnectionError)

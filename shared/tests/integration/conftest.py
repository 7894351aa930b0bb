"""Fixtures for the kernel's integration tests: a fresh database holding the kernel tables,
an engine on it, and a topic namespace with the event and dead-letter topics."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The helper modules next to this file are imported by the tests and, by module name, by the
# worker processes the tests start (see kernel_harness.Worker).
HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from kernel_harness import KernelTopics, create_kernel_tables  # noqa: E402
from shared_kernel.db import create_engine  # noqa: E402
from shared_kernel.kafka import (  # noqa: E402
    TopicSpec,
    dead_letter_topic,
    ensure_topics,
    events_topic,
)
from shared_kernel.testing import CreateDatabase  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

PARTITIONS = 6


@pytest.fixture
async def kernel_database(create_database: CreateDatabase) -> str:
    url = await create_database("kernel")
    await create_kernel_tables(url)
    return url


@pytest.fixture
async def engine(kernel_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(kernel_database)
    yield engine
    await engine.dispose()


@pytest.fixture
async def kernel_topics(kafka_bootstrap: str, topic_namespace: str) -> AsyncIterator[KernelTopics]:
    topics = KernelTopics(
        events=events_topic("kernel", topic_namespace),
        dead_letters=dead_letter_topic("kernel", topic_namespace),
        partitions=PARTITIONS,
        namespace=topic_namespace,
    )
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(topics.events, PARTITIONS), TopicSpec(topics.dead_letters, 1)],
    )
    yield topics
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    with contextlib.suppress(Exception):  # best effort: the broker is a throwaway test broker
        await admin.start()
        await admin.delete_topics([topics.events, topics.dead_letters])
    await admin.close()

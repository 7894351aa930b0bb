"""Topics as the kernel creates and counts them: a topic just created is described whole.

A count of zero partitions would make every "all partitions" check pass vacuously: a
read-your-writes wait would answer ``X-Consistent: true`` before anything was applied, and a
rebuild would switch to an empty read model. Here many topics are created and counted at
once, the way services start side by side."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaError
from shared_kernel.kafka import TopicSpec, ensure_topics, topic_partitions

pytestmark = pytest.mark.integration


async def test_topics_are_counted_whole_right_after_they_are_created(
    kafka_bootstrap: str, topic_namespace: str
) -> None:
    specs = [TopicSpec(f"{topic_namespace}fresh-{n}.events", 2 + n % 5) for n in range(12)]
    # Two starters race to create the same topics, as two services sharing an inbox topic do.
    await asyncio.gather(
        ensure_topics(kafka_bootstrap, specs), ensure_topics(kafka_bootstrap, specs[::-1])
    )
    counts = await asyncio.gather(*(topic_partitions(kafka_bootstrap, s.name) for s in specs))
    assert counts == [s.partitions for s in specs]


async def test_a_topic_that_does_not_exist_is_an_error_not_zero_partitions(
    kafka_bootstrap: str, topic_namespace: str
) -> None:
    with pytest.raises(KafkaError, match="not known"):
        await topic_partitions(kafka_bootstrap, f"{topic_namespace}never-created", timeout=1.0)

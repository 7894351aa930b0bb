"""Kafka plumbing shared by relays and projections: safe producer settings, topic names,
idempotent topic creation, and the partition of a key (the Java client's murmur2 rule)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

log = logging.getLogger(__name__)

# Events are the source of every rebuild: never delete them.
EVENT_TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def events_topic(service: str, namespace: str = "") -> str:
    return f"{namespace}{service}.events"


def dead_letter_topic(service: str, namespace: str = "") -> str:
    return f"{namespace}{service}.dead-letters"


def dead_letter_notices_topic(service: str, namespace: str = "") -> str:
    """Where a service announces what it dead-lettered and recovered (``dead_letter_notices``)."""
    return f"{namespace}{service}.dead-letter-notices"


@lru_cache(maxsize=65536)
def partition_for(key: str, partitions: int) -> int:
    """The partition the Java client's default partitioner picks for ``key``.

    The relay assigns partitions explicitly with this rule, so readers can tell which partition
    carries a stream (read-your-writes waits on that partition's checkpoint). Cached: aiokafka's
    murmur2 is pure Python and streams recur."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def create_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    """Idempotent producer with acks=all: no loss and no broker-side duplicates on retry,
    order kept per partition (aiokafka defaults to acks=1 without idempotence)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=lambda: dict(EVENT_TOPIC_CONFIG))


async def ensure_topics(
    bootstrap_servers: str, specs: list[TopicSpec], *, attempts: int = 30
) -> None:
    """Create missing topics; existing ones are left alone (idempotent at start-up)."""
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [s for s in specs if s.name not in existing]
            if missing:
                await admin.create_topics(
                    [NewTopic(s.name, s.partitions, 1, topic_configs=s.config) for s in missing]
                )
                log.info("created topics %s", [s.name for s in missing])
            return
        except TopicAlreadyExistsError:
            return
        except KafkaConnectionError:
            if attempt == attempts:
                raise
            await asyncio.sleep(1)
        finally:
            await admin.close()


async def topic_partitions(bootstrap_servers: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
        return len(described[0]["partitions"])
    finally:
        await admin.close()

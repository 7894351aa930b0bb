"""Reading topics whole, as a data team's fresh consumer would: every record from offset zero
up to the end offsets seen at the start, with a plain consumer (no group, nothing committed).
Used by the contracts-on-topics test and by the fault campaign's reconciliation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def records_from_start(
    settings: Mapping[str, Any], wanted: Callable[[str], bool]
) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
    """Every record of every topic ``wanted`` names, per topic (``settings``: the consumer's
    client settings, such as ``bootstrap_servers`` and credentials)."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", **settings)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if wanted(t))
        read: dict[str, list[ConsumerRecord[bytes, bytes]]] = {t: [] for t in topics}
        if not topics:
            return read
        consumer.subscribe(topics)
        fetched = [await consumer.getmany(timeout_ms=100)]
        while {tp.topic for tp in consumer.assignment()} != set(topics):
            fetched.append(await consumer.getmany(timeout_ms=100))
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            fetched.append(await consumer.getmany(timeout_ms=1000, max_records=5000))
        for batch in fetched:
            for tp, records in batch.items():
                read[tp.topic].extend(r for r in records if r.offset < ends[tp])
        return read
    finally:
        await consumer.stop()

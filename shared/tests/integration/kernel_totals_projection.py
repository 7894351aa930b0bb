"""A small projection for the kernel's tests: per stream, how many events, the sum of their
``value``, and the highest stream version applied.

Counting and summing are not idempotent, so applying an event twice or missing one shows in the
read model. An event whose ``value`` is not an integer makes ``apply`` raise (a poison event).
It lives in a plain module so that ``python -m shared_kernel.worker project
--projection kernel_totals_projection:KernelTotals`` can import it in another process.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

SERVICE = "kernel"
# Seconds to wait inside each batch's transaction, so that a test can kill the process mid-batch.
APPLY_DELAY_ENV = "KERNEL_TOTALS_APPLY_DELAY"

metadata = sa.MetaData()

stream_totals = sa.Table(
    "stream_totals",
    metadata,
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("max_version", sa.Integer, nullable=False),
    schema=READ_MODEL_SCHEMA,
)


@dataclass
class Totals:
    events: int = 0
    total: int = 0
    max_version: int = 0

    def add(self, value: int, stream_version: int) -> None:
        self.events += 1
        self.total += value
        self.max_version = max(self.max_version, stream_version)


class KernelTotals(Projection):
    name = "kernel_totals"
    metadata = metadata

    def __init__(self, topic_namespace: str = "", *, apply_delay: float | None = None) -> None:
        self.topics = (events_topic(SERVICE, topic_namespace),)
        if apply_delay is None:
            apply_delay = float(os.environ.get(APPLY_DELAY_ENV, "0"))
        self.apply_delay = apply_delay

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        totals: dict[str, Totals] = {}
        for event in events:
            value = int(event.data["value"])  # a poison event raises here
            totals.setdefault(event.subject, Totals()).add(value, event.stream_version)
        if totals:
            insert = pg_insert(stream_totals).values(
                [
                    {
                        "stream_id": stream_id,
                        "events": t.events,
                        "total": t.total,
                        "max_version": t.max_version,
                    }
                    for stream_id, t in totals.items()
                ]
            )
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[stream_totals.c.stream_id],
                    set_={
                        "events": stream_totals.c.events + insert.excluded.events,
                        "total": stream_totals.c.total + insert.excluded.total,
                        "max_version": sa.func.greatest(
                            stream_totals.c.max_version, insert.excluded.max_version
                        ),
                    },
                )
            )
        if self.apply_delay:
            await asyncio.sleep(self.apply_delay)  # still inside the batch's transaction

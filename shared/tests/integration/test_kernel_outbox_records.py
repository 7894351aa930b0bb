"""The relay's records from the driver's rows on real PostgreSQL (the time as the driver
decodes a timestamptz, the id as the server writes it as text) are, byte for byte, the records
made from the event store's envelopes of the same events."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from kernel_harness import SOURCE, STREAM_TYPE, metadata_for, new_events, new_stream_id
from shared_kernel.eventstore import EventMetadata, PostgresEventStore, StreamAppend
from shared_kernel.kafka import partition_for
from shared_kernel.outbox_records import CloudEventRecords, read_outbox_rows
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

STORE = PostgresEventStore(SOURCE)
PARTITIONS = 6


async def test_records_from_rows_are_the_records_from_the_stored_envelopes(
    engine: AsyncEngine,
) -> None:
    traced = dataclasses.replace(
        metadata_for("Zoë"),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="rojo=00f067aa0ba902b7",
    )
    async with engine.begin() as conn:
        after = await STORE.head(conn)
        appends: list[tuple[EventMetadata, list[int | str]]] = [
            (metadata_for("plain"), [1, 'Überweisung für 5 € "quoted" \\ \u0001 🙂']),
            (traced, [2]),
        ]
        for metadata, values in appends:
            stream = StreamAppend(new_stream_id(), STREAM_TYPE, 0, new_events(values))
            await STORE.append(conn, [stream], metadata)
    async with engine.connect() as conn:
        rows = await read_outbox_rows(conn, after, 100)
        stored = await STORE.read_after(conn, after, 100)
    assert len(rows) == len(stored) == 3
    expected = []
    for envelope, row in zip(stored, rows, strict=True):
        # The data as stored (the record splices the text in); the rest from the envelope.
        assert orjson.loads(row["data_json"]) == envelope.data
        head = orjson.dumps(envelope.attributes())
        value = b"".join((head[:-1], b',"data":', row["data_json"].encode(), b"}"))
        expected.append(
            (partition_for(envelope.subject, PARTITIONS), envelope.subject.encode(), value)
        )
    assert CloudEventRecords(SOURCE, PARTITIONS).records(rows) == expected
    assert orjson.loads(expected[-1][2])["tracestate"] == "rojo=00f067aa0ba902b7"

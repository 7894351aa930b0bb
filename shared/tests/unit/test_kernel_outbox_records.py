"""The relay's Kafka records made from its rows are, byte for byte, the records it made from
each row's ``EventEnvelope`` (orjson of ``attributes()`` with the stored data spliced in): the
same CloudEvents structured JSON, key and partition, with and without the optional attributes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from shared_kernel.envelope import (
    DEFAULT_SCHEMA_BASE_URL,
    EventEnvelope,
    serve_schemas_from,
)
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import partition_for
from shared_kernel.outbox_records import CloudEventRecords

pytestmark = pytest.mark.unit

SOURCE = "/ledger"
PARTITIONS = 6


def row(**changes: Any) -> dict[str, Any]:
    """An outbox row as the driver gives it (``OUTBOX_ROWS``: the id as text)."""
    fields: dict[str, Any] = {
        "position": 42,
        "event_id": str(uuid4()),
        "stream_id": f"entry-{uuid4()}",
        "stream_type": "journal_entry",
        "stream_version": 3,
        "event_type": "ledger.JournalEntryPosted",
        "event_version": 2,
        "correlation_id": str(uuid4()),
        "causation_id": str(uuid4()),
        "actor": "user:anna",
        "actor_office": "back",
        "recorded_at": datetime(2025, 3, 31, 23, 59, 58, 123456, tzinfo=UTC),
        "traceparent": None,
        "tracestate": None,
        "data_json": '{"amount": 1250, "lines": [{"side": "debit", "account": "1200"}]}',
    }
    return fields | changes


def envelope_of(stored: dict[str, Any]) -> EventEnvelope:
    """The envelope the event store makes of the same row (``PostgresEventStore._envelope``,
    what the relay built before records were made from rows)."""
    row = {**stored, "event_id": UUID(stored["event_id"]), "data": {}}
    return PostgresEventStore(SOURCE)._envelope(row)


def envelope_record(stored: dict[str, Any]) -> tuple[int, bytes, bytes]:
    """The record as the relay made it from the envelope (``outbox.record_value``, until the
    relay made its records from the rows)."""
    envelope, raw_data = envelope_of(stored), stored["data_json"]
    head = orjson.dumps(envelope.attributes())
    value = b"".join((head[:-1], b',"data":', raw_data.encode(), b"}"))
    return partition_for(envelope.subject, PARTITIONS), envelope.subject.encode(), value


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

CASES = {
    "no optional attributes": row(),
    "traceparent": row(traceparent=TRACEPARENT),
    "traceparent and tracestate": row(traceparent=TRACEPARENT, tracestate="rojo=00f067aa0ba902b7"),
    "tracestate alone (dropped)": row(tracestate="rojo=00f067aa0ba902b7"),
    "empty trace context": row(traceparent="", tracestate=""),
    "no microseconds": row(recorded_at=datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)),
    "one microsecond": row(recorded_at=datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
    "non-ASCII and escapes": row(
        actor="user:Zoë",
        correlation_id='cor"rel\\ation\n',
        stream_id="entry-Ünïcødé-€-🙂",
        data_json='{"memo": "Überweisung für 5 € \\"quoted\\" \\u0001", "emoji": "🙂"}',
    ),
    "first position, long stream": row(position=1, stream_version=1_000_000),
}


@pytest.mark.parametrize("stored", CASES.values(), ids=CASES.keys())
def test_a_record_from_the_row_is_the_record_from_its_envelope(stored: dict[str, Any]) -> None:
    [record] = CloudEventRecords(SOURCE, PARTITIONS).records([stored])
    assert record == envelope_record(stored)
    # And the CloudEvent the envelope's own serialiser writes (ASCII-escaped, the same JSON).
    expected = orjson.loads(envelope_of(stored).to_json_bytes(stored["data_json"]))
    assert orjson.loads(record[2]) == expected == json.loads(record[2])


def test_a_batch_keeps_its_order_and_types_keep_their_own_schema() -> None:
    batch = [
        row(position=p, event_type=t, event_version=v)
        for p, (t, v) in enumerate(
            [("ledger.A", 1), ("ledger.B", 1), ("ledger.A", 2), ("ledger.A", 1)], start=1
        )
    ]
    records = CloudEventRecords(SOURCE, PARTITIONS).records(batch)
    assert records == [envelope_record(stored) for stored in batch]


def test_the_schema_server_set_later_is_the_one_named() -> None:
    records = CloudEventRecords(SOURCE, PARTITIONS)
    stored = row()
    try:
        serve_schemas_from("https://schemas.example.test/")
        [(_, _, value)] = records.records([stored])
        assert orjson.loads(value)["dataschema"] == (
            "https://schemas.example.test/schemas/ledger/ledger.JournalEntryPosted.v2.json"
        )
        assert value == envelope_record(stored)[2]
    finally:
        serve_schemas_from(DEFAULT_SCHEMA_BASE_URL)

"""The relay's rows and the Kafka records made of them, without an envelope per event.

The relay only forwards events: it needs each one's partition, key and CloudEvents JSON, never
the ``EventEnvelope``. Building that (a frozen dataclass, its UUID made standard, its
attributes dict, the time formatted by ``isoformat``) only to serialise it again was the
largest part of the relay's own CPU. So the relay reads the driver's rows, the id already as
text, and writes each record straight from its row: one dict handed to orjson, the stored
``data`` JSON spliced in as an ``orjson.Fragment``. The bytes are the ones
``EventEnvelope.attributes`` gives through orjson with the data spliced in (what the relay
always sent; ``test_kernel_outbox_records`` holds the two together).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from shared_kernel.envelope import DATA_CONTENT_TYPE, SPEC_VERSION, schema_url, versioned_type
from shared_kernel.kafka import partition_for


class OutboxRow(Protocol):
    """An ``events`` row as the relay reads it (``OUTBOX_ROWS``'s columns, by name): the
    driver's record, or a mapping in tests."""

    def __getitem__(self, column: str) -> Any: ...


# On the driver's connection: SQLAlchemy's result rows cost more than the read. The id comes
# as text (the form the record carries), the data as its stored JSON text.
OUTBOX_ROWS = (
    "SELECT position, event_id::text AS event_id, stream_id, stream_type, stream_version,"
    " event_type, event_version, correlation_id, causation_id, actor, actor_office,"
    " recorded_at, traceparent, tracestate, data::text AS data_json"
    " FROM events WHERE position > $1 ORDER BY position LIMIT $2"
)


async def read_outbox_rows(conn: AsyncConnection, after: int, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` events after position ``after``, in position order."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    rows: list[OutboxRow] = await driver.fetch(OUTBOX_ROWS, after, limit)
    return rows


# ``recorded_at`` is a timestamptz: the driver gives it in UTC, which orjson writes as
# ``isoformat`` does (microseconds only when there are any), with ``Z`` for ``+00:00``.
_OPTIONS = orjson.OPT_UTC_Z


class CloudEventRecords:
    """Makes the Kafka records (partition, key, value) of a batch of rows of one service's
    event store (``source``), partitioned as ``partition_for`` does for the stream id."""

    def __init__(self, source: str, partitions: int) -> None:
        self._source = source
        self._partitions = partitions

    def records(self, rows: Sequence[OutboxRow]) -> list[tuple[int, bytes, bytes]]:
        # Types and their schemas once a batch (few types, many events); not kept longer,
        # so that a schema server set later (``serve_schemas_from``) is taken up.
        types: dict[tuple[str, int], tuple[str, str]] = {}
        partitions, source, dumps = self._partitions, self._source, orjson.dumps
        records = []
        for row in rows:
            versioned = (row["event_type"], row["event_version"])
            type_, dataschema = types.get(versioned) or types.setdefault(
                versioned, _type_and_schema(*versioned)
            )
            subject = row["stream_id"]
            attributes = {
                "specversion": SPEC_VERSION,
                "id": row["event_id"],
                "source": source,
                "type": type_,
                "subject": subject,
                "time": row["recorded_at"],
                "datacontenttype": DATA_CONTENT_TYPE,
                "dataschema": dataschema,
                "streamtype": row["stream_type"],
                "streamversion": row["stream_version"],
                "position": row["position"],
                "correlationid": row["correlation_id"],
                "causationid": row["causation_id"],
                "actor": row["actor"],
                "actoroffice": row["actor_office"],
            }
            if traceparent := row["traceparent"]:
                attributes["traceparent"] = traceparent
                if tracestate := row["tracestate"]:
                    attributes["tracestate"] = tracestate
            attributes["data"] = orjson.Fragment(row["data_json"])
            records.append(
                (
                    partition_for(subject, partitions),
                    subject.encode(),
                    dumps(attributes, option=_OPTIONS),
                )
            )
        return records


def _type_and_schema(event_type: str, version: int) -> tuple[str, str]:
    type_ = versioned_type(event_type, version)
    return type_, schema_url(type_)

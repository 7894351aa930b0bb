"""Load a back-office topic into DuckDB, checking every event against its published schema.

What a data team needs and no more: a plain Kafka consumer (no consumer group, nothing
committed) reads every partition of one topic from offset zero up to the end offsets it saw at
start, decodes each CloudEvent (structured JSON mode), validates its ``data`` against the JSON
Schema of its ``type`` (the committed ``services/<service>/contracts/<type>.json`` files) and
loads the valid ones into the table ``events``, one row per event. A ledger topic also gets
the view ``journal_lines``, one row per line of a posted journal entry.

    python examples/load_events_into_duckdb.py --bootstrap 127.0.0.1:9092 \
        --topic ledger.events --database events.duckdb --contracts services

An event that is not a CloudEvent, has no schema for its type, or does not validate is not
loaded: it is listed (topic, partition, offset, type, why) and counted, and the exit status is
1. Loading again is safe: an event already in the table (same id) is kept once, so the relay's
rare duplicates and a second run add nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import duckdb
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from jsonschema import Draft202012Validator

TABLE = """CREATE TABLE IF NOT EXISTS events (
    id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, source VARCHAR NOT NULL,
    subject VARCHAR, time TIMESTAMPTZ NOT NULL, dataschema VARCHAR,
    topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, "offset" BIGINT NOT NULL,
    data JSON NOT NULL)"""

# One row per line of a posted journal entry: what a data team sums by account and month.
JOURNAL_LINES = """CREATE OR REPLACE VIEW journal_lines AS
SELECT e.id AS event_id, e.time AS posted_at,
       e.data->>'$.entry_id' AS entry_id, e.data->>'$.voucher_number' AS voucher_number,
       CAST(e.data->>'$.booking_date' AS DATE) AS booking_date, e.data->>'$.period' AS period,
       line->>'$.account_id' AS account_id, line->>'$.account_code' AS account_code,
       line->>'$.side' AS side, CAST(line->>'$.amount' AS BIGINT) AS amount,
       line->>'$.currency' AS currency
FROM events e, unnest(CAST(e.data->'$.lines' AS JSON[])) AS l(line)
WHERE e.type LIKE 'ledger.JournalEntryPosted.v%'"""

ATTRIBUTES = ("specversion", "id", "source", "type", "time", "data")
# A schema file is named after the versioned CloudEvent type it describes.
SCHEMA_FILE = re.compile(r"[\w.-]+\.v\d+\.json")


def load_contracts(folder: Path) -> dict[str, Draft202012Validator]:
    """A validator per CloudEvent type: each ``<type>.v<N>.json`` below a ``contracts`` folder
    (``folder`` may also be one contracts folder itself)."""
    paths = [
        p
        for p in folder.rglob("*.v*.json")
        if "contracts" in p.relative_to(folder.parent).parts and SCHEMA_FILE.fullmatch(p.name)
    ]
    return {
        path.name.removesuffix(".json"): Draft202012Validator(
            json.loads(path.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for path in sorted(paths)
    }


@dataclass
class Load:
    """What one run loaded and what it refused (one line per refused event)."""

    loaded: int = 0
    refused: list[str] = field(default_factory=list)


def check(event: Any, contracts: dict[str, Draft202012Validator]) -> str | None:
    """Why ``event`` cannot be loaded, or None when it is a valid CloudEvent of a known type."""
    if not isinstance(event, dict):
        return "not a JSON object"
    missing = [name for name in ATTRIBUTES if name not in event]
    if missing:
        return f"not a CloudEvent: no {', '.join(missing)}"
    validator = contracts.get(str(event["type"]))
    if validator is None:
        return "no schema for this type"
    error = next(iter(validator.iter_errors(event["data"])), None)
    if error is not None:
        return f"data{''.join(f'[{p!r}]' for p in error.absolute_path)}: {error.message}"
    return None


def row(record: ConsumerRecord[bytes, bytes], event: dict[str, Any]) -> list[Any]:
    return [
        event["id"],
        event["type"],
        event["source"],
        event.get("subject"),
        event["time"],
        event.get("dataschema"),
        record.topic,
        record.partition,
        record.offset,
        json.dumps(event["data"]),
    ]


async def records(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of every partition of ``topic``, from offset zero to the end offsets
    seen at start (events appended meanwhile wait for the next run)."""
    consumer = AIOKafkaConsumer(  # no consumer group: nothing is committed
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            raise LookupError(f"no topic {topic!r} at {bootstrap}")
        consumer.subscribe([topic])  # every partition of it, from offset zero
        fetched = [await consumer.getmany(timeout_ms=100)]
        while not consumer.assignment():
            fetched.append(await consumer.getmany(timeout_ms=100))
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            fetched.append(await consumer.getmany(timeout_ms=1000))
        return [r for f in fetched for tp, rs in f.items() for r in rs if r.offset < ends[tp]]
    finally:
        await consumer.stop()


def load(
    found: Iterable[ConsumerRecord[bytes, bytes]],
    contracts: dict[str, Draft202012Validator],
    database: duckdb.DuckDBPyConnection,
) -> Load:
    result, rows = Load(), []
    for record in found:
        try:
            event = json.loads(record.value or b"")
        except ValueError:
            event = None
        why = check(event, contracts) if event is not None else "not JSON"
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if why is not None:
            kind = event.get("type") if isinstance(event, dict) else None
            result.refused.append(f"{where} {kind or '?'}: {why}")
            continue
        rows.append(row(record, event))
    database.execute(TABLE)
    if rows:
        before = database.execute("SELECT count(*) FROM events").fetchone()
        for start in range(0, len(rows), 500):  # multi-row VALUES: executemany is row by row
            chunk = rows[start : start + 500]
            values = ", ".join([f"({', '.join('?' * 10)})"] * len(chunk))
            database.execute(f"INSERT OR IGNORE INTO events VALUES {values}", [*chain(*chunk)])
        after = database.execute("SELECT count(*) FROM events").fetchone()
        result.loaded = (after or (0,))[0] - (before or (0,))[0]
    database.execute(JOURNAL_LINES)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="ledger.events", help="e.g. ledger.events")
    parser.add_argument("--namespace", default="", help="topic prefix (TOPIC_NAMESPACE)")
    parser.add_argument("--database", default="events.duckdb", help="DuckDB file to load into")
    parser.add_argument("--contracts", default="services", type=Path, help="schema folder")
    args = parser.parse_args(argv)
    contracts = load_contracts(args.contracts)
    if not contracts:
        parser.error(f"no schemas below {args.contracts} (expected */contracts/<type>.json)")
    try:
        found = asyncio.run(records(args.bootstrap, f"{args.namespace}{args.topic}"))
    except LookupError as missing:
        parser.error(str(missing))
    with duckdb.connect(args.database) as database:
        result = load(found, contracts, database)
        total = database.execute("SELECT count(*) FROM events").fetchone()
    for line in result.refused:
        print(f"refused {line}", file=sys.stderr)
    print(
        f"loaded {result.loaded} new events into {args.database} "
        f"({(total or (0,))[0]} in table events); refused {len(result.refused)}"
    )
    return 1 if result.refused else 0


if __name__ == "__main__":
    sys.exit(main())

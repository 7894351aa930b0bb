"""The two contract checks a reader of the topics runs, on records made here: the e2e check of
every topic (``tests/e2e/contracts_on_topics.py``) and the data teams' example loader
(``examples/load_events_into_duckdb.py``) accept a ledger event as the relay publishes it and
name what breaks one."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from jsonschema import Draft202012Validator
from ledger.domain.events import JournalEntryPosted, PostedLine
from shared_kernel.codec import EventCodec
from shared_kernel.contracts import load_all
from shared_kernel.envelope import Actor, EventEnvelope

from tests.e2e.contracts_on_topics import Contract, check_topics, event_failures

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import load_events_into_duckdb as example

pytestmark = pytest.mark.unit

TYPE = "ledger.JournalEntryPosted.v1"
SCHEMA = load_all()[TYPE]  # the committed contract
CONTRACTS = {
    TYPE: Contract(Path(f"{TYPE}.json"), SCHEMA, Draft202012Validator(SCHEMA)),
}


def published_entry() -> dict[str, Any]:
    """A journal entry as the relay publishes it (the envelope's own CloudEvent)."""
    line = PostedLine(str(uuid.uuid4()), "1200", "debit", 100, "EUR")
    event = JournalEntryPosted(
        entry_id=str(uuid.uuid4()),
        voucher_number="RE-1",
        booking_date=date(2026, 11, 30),
        text="Invoice paid",
        lines=(line, PostedLine(line.account_id, "8400", "credit", 100, "EUR")),
    )
    envelope = EventEnvelope(
        id=uuid.uuid4(),
        source="/ledger",
        type=TYPE,
        subject=event.entry_id,
        time=datetime.now(UTC),
        data=EventCodec([JournalEntryPosted]).encode(event),
        stream_type="journal_entry",
        stream_version=1,
        position=7,
        correlation_id="case-1",
        causation_id="case-1",
        actor=Actor("operator:accountant", "back"),
    )
    return envelope.to_cloudevent()


def record(
    value: Any, topic: str = "t1.ledger.events", headers: list[tuple[str, bytes]] | None = None
) -> ConsumerRecord[bytes, bytes]:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return ConsumerRecord(topic, 0, 3, 0, 0, None, raw, None, 0, len(raw), tuple(headers or ()))


def test_an_event_as_published_keeps_its_contract() -> None:
    event = published_entry()
    assert event_failures(record(event), CONTRACTS) == ([], TYPE)
    assert example.check(event, {TYPE: CONTRACTS[TYPE].validator}) is None


def test_a_broken_field_is_named_with_its_path() -> None:
    event = published_entry()
    event["data"]["lines"][1]["amount"] = "lots"
    failures, _ = event_failures(record(event), CONTRACTS)
    assert [(f.field, f.type) for f in failures] == [("data['lines'][1]['amount']", TYPE)]
    assert "t1.ledger.events[0]@3" in str(failures[0])
    why = example.check(event, {TYPE: CONTRACTS[TYPE].validator})
    assert why is not None and why.startswith("data['lines'][1]['amount']: 'lots'")


def test_a_missing_attribute_a_foreign_schema_and_an_unknown_type_are_refused() -> None:
    event = published_entry()
    del event["correlationid"]
    assert [f.field for f in event_failures(record(event), CONTRACTS)[0]] == ["correlationid"]
    event = published_entry() | {"dataschema": "urn:elsewhere"}
    assert [f.field for f in event_failures(record(event), CONTRACTS)[0]] == ["dataschema"]
    event = published_entry() | {"type": "ledger.JournalEntryPosted.v9"}
    assert [f.problem for f in event_failures(record(event), CONTRACTS)[0]] == [
        "no committed schema"
    ]
    assert example.check(event, {TYPE: CONTRACTS[TYPE].validator}) == "no schema for this type"
    [not_json] = event_failures(record(b"\xff not json"), CONTRACTS)[0]
    assert not_json.problem.startswith("not JSON")


def test_a_dead_letter_is_not_an_event_but_must_say_where_it_came_from() -> None:
    good = [
        ("dlq.projection", b"ledger_view_v4"),
        ("dlq.error", b"MalformedEvent"),
        ("dlq.topic", b"t1.ledger.events"),
        ("dlq.partition", b"0"),
        ("dlq.offset", b"3"),
    ]
    topics = {
        "t1.ledger.dead-letters": [
            record(b"not even json", "t1.ledger.dead-letters", good),
            record(b"{}", "t1.ledger.dead-letters", good[:2]),
        ]
    }
    checked = check_topics(topics, CONTRACTS, ["t1."])
    assert checked.dead_letters == ["t1.ledger.dead-letters[0]@3"] * 2
    assert [f.field for f in checked.failures] == ["dlq.topic", "dlq.partition", "dlq.offset"]

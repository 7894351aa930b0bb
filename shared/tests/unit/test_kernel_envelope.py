"""The event envelope: CloudEvents 1.0 structured JSON with the back office's extensions."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from shared_kernel.envelope import (
    Actor,
    EnvelopeError,
    EventEnvelope,
    schema_url,
    serve_schemas_from,
)

pytestmark = pytest.mark.unit

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def envelope(**changes: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "id": uuid4(),
        "source": "/ledger",
        "type": "ledger.JournalEntryPosted.v2",
        "subject": f"entry-{uuid4()}",
        "time": datetime(2025, 3, 31, 23, 59, 58, 123456, tzinfo=UTC),
        "data": {"amount": 1250, "lines": [{"account": "1200", "side": "debit"}]},
        "stream_type": "journal_entry",
        "stream_version": 3,
        "position": 42,
        "correlation_id": str(uuid4()),
        "causation_id": str(uuid4()),
        "actor": Actor(subject="user:anna", office="back"),
    }
    fields.update(changes)
    return EventEnvelope(**fields)


def test_round_trip_through_cloudevent_and_json_keeps_every_field() -> None:
    original = envelope(dataschema="https://schemas.example/ledger/custom.json")
    assert EventEnvelope.from_cloudevent(original.to_cloudevent()) == original
    assert EventEnvelope.from_json_bytes(original.to_json_bytes()) == original


def test_a_stored_event_gets_its_default_dataschema_and_keeps_it() -> None:
    stored = envelope()  # as read from the event store: no explicit schema
    decoded = EventEnvelope.from_json_bytes(stored.to_json_bytes())
    assert decoded.dataschema == schema_url("ledger.JournalEntryPosted.v2")
    assert decoded == dataclasses.replace(stored, dataschema=decoded.dataschema)
    assert decoded.to_cloudevent() == stored.to_cloudevent()


def test_required_cloudevents_attributes_and_extensions_are_present() -> None:
    original = envelope()
    event = json.loads(original.to_json_bytes())
    assert event["specversion"] == "1.0"
    assert event["id"] == str(original.id)
    assert event["source"] == "/ledger"
    assert event["type"] == "ledger.JournalEntryPosted.v2"
    assert re.search(r"\.v\d+$", event["type"])
    assert event["subject"] == original.subject
    assert event["time"] == "2025-03-31T23:59:58.123456Z"
    assert event["datacontenttype"] == "application/json"
    assert event["dataschema"] == (
        "http://127.0.0.1:8000/schemas/ledger/ledger.JournalEntryPosted.v2.json"
    )
    assert event["data"] == original.data
    assert {
        "streamversion": 3,
        "position": 42,
        "correlationid": original.correlation_id,
        "causationid": original.causation_id,
        "actor": "user:anna",
        "actoroffice": "back",
    }.items() <= event.items()
    # CloudEvents attribute names: lower-case letters and digits only.
    assert all(re.fullmatch(r"[a-z0-9]{1,20}", name) for name in event)


def test_dataschema_is_the_schema_url_at_the_configured_schema_server() -> None:
    serve_schemas_from("https://office.example:8443/")
    try:
        event = envelope(type="tickets.TicketOpened.v3").to_cloudevent()
        notice = envelope(type="backoffice.DeadLettered.v1").to_cloudevent()
    finally:
        serve_schemas_from("http://127.0.0.1:8000")
    assert event["dataschema"] == (
        "https://office.example:8443/schemas/tickets/tickets.TicketOpened.v3.json"
    )
    # The kernel's own events are described once, not per service that sends them.
    assert notice["dataschema"].endswith("/schemas/backoffice/backoffice.DeadLettered.v1.json")
    assert envelope().to_cloudevent()["dataschema"].startswith("http://127.0.0.1:8000/")


def test_time_is_rfc3339_in_utc_whatever_the_zone_it_was_recorded_in() -> None:
    cet = timezone(timedelta(hours=1))
    event = envelope(time=datetime(2025, 1, 1, 0, 30, tzinfo=cet)).to_cloudevent()
    assert event["time"] == "2024-12-31T23:30:00Z"
    assert RFC3339_UTC.match(event["time"])
    decoded = EventEnvelope.from_cloudevent(event)
    assert decoded.time == datetime(2024, 12, 31, 23, 30, tzinfo=UTC)


def test_type_carries_the_version() -> None:
    assert envelope().event_type == "ledger.JournalEntryPosted"
    assert envelope().version == 2


def _without(key: str) -> dict[str, Any]:
    event = envelope().to_cloudevent()
    del event[key]
    return event


def _with(**changes: Any) -> dict[str, Any]:
    return {**envelope().to_cloudevent(), **changes}


@pytest.mark.parametrize(
    "payload",
    [
        _without("specversion"),
        _without("id"),
        _without("source"),
        _without("type"),
        _without("subject"),
        _without("time"),
        _without("data"),
        _without("streamversion"),
        _without("position"),
        _without("correlationid"),
        _without("actor"),
        _with(specversion="0.3"),
        _with(type="ledger.JournalEntryPosted"),
        _with(type="ledger.JournalEntryPosted.vX"),
        _with(id="not-a-uuid"),
        _with(time="yesterday"),
        _with(streamversion="three"),
        _with(data=[1, 2, 3]),
        _with(data="text"),
    ],
)
def test_malformed_cloudevents_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError):
        EventEnvelope.from_cloudevent(payload)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff", b"not json", b"[1, 2]", b'"a string"', b"{}", b'{"specversion": "1.0"}'],
)
def test_malformed_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(EnvelopeError):
        EventEnvelope.from_json_bytes(raw)

"""Upcasting reaches the tickets service's inboxes (issue 15): an event moves to ``.v2`` (a new
field), the inbox's own class of it becomes v2 with the kernel's upcaster v1 -> v2, and a v1
event still on the topic opens the same incident as a native v2 twin. Without the upcaster the
v1 event would be dead-lettered and open nothing. ``risk.LimitBreached`` through the inbox of
risk events (``LimitBreachIncidents``), ``backoffice.DeadLettered`` through the inbox of
dead-letter notices (``DeadLetterIncidents``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from shared_kernel.dead_letter_notices import DeadLettered
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.kafka import create_producer, dead_letter_notices_topic, events_topic
from shared_kernel.testing import Headers
from tickets.bootstrap import TicketsSettings
from tickets.domain import risk_events
from tickets.domain.limit_breaches import incident_id_for

from .conftest import FakeClock, running_tickets
from .test_tickets_limit_breaches import crossing, incidents, wait_until
from .tickets_api import read
from .tickets_runtime import settle

pytestmark = pytest.mark.integration

BREACHED = risk_events.LimitBreached.event_type


def severity_limit(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2: what every v1 breach was."""
    return {**data, "severity": "limit"}


#: What each incident has of its own: its ids, its breach, its case and times.
OWN = ("ticket_id", "origin_id", "title", "created_at", "updated_at", "version", "position")


async def test_a_v1_breach_and_its_native_v2_twin_open_the_same_incident(
    tickets_settings: TicketsSettings,
    as_role: Headers,
    clock: FakeClock,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    officer = as_role("risk-officer")
    old = crossing("LimitBreached", str(uuid4()), 1_600_000, 0)
    native = crossing("LimitBreached", str(uuid4()), 1_600_000, 0)  # at the same minute
    native = replace(
        native,
        type=f"{BREACHED}.v2",
        data=severity_limit(native.data) | {"severity": "hard"},
    )
    topic = events_topic("risk", tickets_settings.topic_namespace)
    producer = create_producer(kafka_bootstrap, client_id="test-risk-v2")
    await producer.start()
    try:
        async with running_tickets(tickets_settings, clock) as client:
            service = client.tickets  # type: ignore[attr-defined]
            [inbox] = [h for h in service.runtime.inboxes if h.name == "limit_breach_incidents"]
            monkeypatch.setattr(risk_events.LimitBreached, "version", 2)  # the reader's class
            inbox.codec.register_upcaster(BREACHED, 1, severity_limit)
            for envelope in (old, native):
                await producer.send_and_wait(
                    topic, envelope.to_json_bytes(), key=envelope.subject.encode()
                )

            async def both_open() -> bool:
                return len(await incidents(client, officer)) == 2

            await wait_until(both_open, "an incident for each breach", timeout=30)
            found = {t["origin_id"]: t for t in await incidents(client, officer)}
    finally:
        await producer.stop()
    old_incident, new_incident = (found[e.data["crossing_id"]] for e in (old, native))
    assert old_incident["ticket_id"] == incident_id_for(old.data["crossing_id"])
    # The same incident but for the breach it names (its id in the description too).
    as_twin = json.loads(
        json.dumps(old_incident).replace(old.data["crossing_id"], native.data["crossing_id"])
    )
    twins = [{k: v for k, v in t.items() if k not in OWN} for t in (as_twin, new_incident)]
    assert twins[0] == twins[1], twins
    assert old_incident["priority"] == 1 and old_incident["status"] == "new", old_incident


NOTICE = DeadLettered.event_type
NOTICED_AT = datetime.now(UTC)  # both notices at once: the twins' times are equal


def notice(consumer: str, version: int, **extra: Any) -> EventEnvelope:
    """A ``backoffice.DeadLettered`` notice of the ledger, as ``DeadLetters`` announces it."""
    return EventEnvelope(
        id=uuid4(),
        source="/ledger",
        type=f"{NOTICE}.v{version}",
        subject=f"ledger/{consumer}",
        time=NOTICED_AT,
        data={
            "service": "ledger",
            "consumer": consumer,
            "error": "MalformedEvent: lines missing",
            "source_topic": "ledger.events",
            "source_partition": 0,
            "source_offset": 7,
            "dead_letter_topic": "ledger.dead-letters",
            **extra,
        },
        stream_type="dead-letter-notice",
        stream_version=1,
        position=1,
        correlation_id=str(uuid4()),
        causation_id=str(uuid4()),
        actor=Actor.system("ledger"),
    )


def with_severity(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2 of a notice: every v1 notice was an error."""
    return {**data, "severity": "error"}


async def test_a_v1_dead_letter_notice_and_its_native_v2_twin_open_the_same_incident(
    tickets_settings: TicketsSettings,
    as_role: Headers,
    clock: FakeClock,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``backoffice.DeadLettered`` (the kernel's notice) v1 -> v2 through the tickets inbox
    that turns notices into IT incidents (one per consumer: two consumers, two incidents)."""
    agent = as_role("it-support")
    old, new = notice("ledger_view_a", 1), notice("ledger_view_b", 2, severity="error")
    topic = dead_letter_notices_topic("ledger", tickets_settings.topic_namespace)
    producer = create_producer(kafka_bootstrap, client_id="test-notices-v2")
    await producer.start()
    try:
        async with running_tickets(tickets_settings, clock) as client:
            service = client.tickets  # type: ignore[attr-defined]
            [inbox] = [h for h in service.runtime.inboxes if h.name == "dead_letter_incidents"]
            monkeypatch.setattr(DeadLettered, "version", 2)  # the reader's class
            inbox.codec.register_upcaster(NOTICE, 1, with_severity)
            for envelope in (old, new):
                await producer.send_and_wait(
                    topic, envelope.to_json_bytes(), key=envelope.subject.encode()
                )

            async def both_open() -> list[dict[str, Any]] | None:
                position = await settle(client)
                page = await read(client, agent, "/v1/tickets", position, queue="it-support")
                found = [t for t in page["items"] if "ledger_view_" in t["title"]]
                return found if len(found) == 2 else None

            found: list[dict[str, Any]] = []

            async def opened() -> bool:
                found[:] = await both_open() or []
                return bool(found)

            await wait_until(opened, "an incident for each notice", timeout=30)
    finally:
        await producer.stop()
    by_consumer = {("a" if "ledger_view_a" in t["title"] else "b"): t for t in found}
    as_twin = json.loads(json.dumps(by_consumer["a"]).replace("ledger_view_a", "ledger_view_b"))
    twins = [{k: v for k, v in t.items() if k not in OWN} for t in (as_twin, by_consumer["b"])]
    assert twins[0] == twins[1], twins

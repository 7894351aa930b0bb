"""Upcasting reaches the tickets service's inbox of risk events (issue 15): ``risk.LimitBreached``
moves to ``.v2`` (a new field, ``severity``; every v1 breach was ``limit``), the inbox's own
class of it becomes v2 with the kernel's upcaster v1 -> v2, and a v1 breach still on the topic
opens the same incident as a native v2 breach. Without the upcaster the v1 breach would be
dead-lettered and open nothing (``test_tickets_limit_breaches`` shows the v1 path alone)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.testing import Headers
from tickets.bootstrap import TicketsSettings
from tickets.domain import risk_events
from tickets.domain.limit_breaches import incident_id_for

from .conftest import FakeClock, running_tickets
from .test_tickets_limit_breaches import crossing, incidents, wait_until

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

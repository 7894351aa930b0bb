"""Upcasting reaches risk's inboxes of tickets events (issue 15): a tickets event moves to
``.v2`` (a new field), the inbox's own class of it (``risk.domain.tickets_events``) becomes v2
with the kernel's upcaster v1 -> v2, and a v1 event still on the topic counts in its KRI as its
native v2 twin does; without the upcaster the v1 event would be dead-lettered and counted
nowhere. ``tickets.TicketOpened`` through the KRI "open critical IT incidents"
(``OpenCriticalIncidentsInbox``), ``tickets.SlaBreached`` through the window KRI "SLA breaches
in the last 30 days" (``WindowKriInbox``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from risk.bootstrap import Risk, RiskSettings
from risk.domain import tickets_events
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics, events_topic
from shared_kernel.testing import Headers

from .conftest import running_risk
from .test_risk_kri_stream import KRI, Tickets, head, kri_events, read, status_changes, wait_until
from .test_risk_kri_windows import SLA, B, Clock, at

pytestmark = pytest.mark.integration

OPENED = tickets_events.TicketOpened.event_type


def by_api(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2: where every v1 ticket came from."""
    return {**data, "channel": "api"}


async def test_a_v1_incident_and_its_native_v2_twin_both_count_in_the_kri(
    risk_settings: RiskSettings,
    as_role: Headers,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = risk_settings.model_copy(
        update={"kri_open_critical_incidents_amber": 1, "kri_open_critical_incidents_red": 2}
    )
    topic = events_topic("tickets", settings.topic_namespace)
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])  # one partition: one order
    producer = create_producer(kafka_bootstrap, client_id="test-tickets-v2")
    await producer.start()
    tickets = Tickets(producer, topic)
    try:
        async with running_risk(settings) as client:
            risk: Risk = client.risk  # type: ignore[attr-defined]
            [inbox] = [h for h in risk.runtime.inboxes if h.name == "kri_open_critical_incidents"]
            monkeypatch.setattr(tickets_events.TicketOpened, "version", 2)  # the reader's class
            inbox.codec.register_upcaster(OPENED, 1, by_api)
            old = tickets.event("T1", "TicketOpened", ticket_type="incident", priority=1)
            native = tickets.event("T2", "TicketOpened", ticket_type="incident", priority=1)
            native = replace(native, type=f"{OPENED}.v2", data=by_api(native.data))
            await tickets.publish(old, native)

            async def both_counted() -> bool:
                return len(status_changes(await kri_events(risk))) >= 2

            await wait_until(both_counted, "both incidents in the KRI", timeout=30)
            assert status_changes(await kri_events(risk)) == [
                (None, "amber", 1.0),
                ("amber", "red", 2.0),
            ]
            kri = await read(client, as_role("risk-officer"), f"/v1/kris/{KRI}", await head(risk))
            assert (kri["value"], kri["status"]) == (2.0, "red")
    finally:
        await producer.stop()


BREACHED = tickets_events.SlaBreached.event_type


def resolution_clock(data: dict[str, Any]) -> dict[str, Any]:
    """The upcaster v1 -> v2 of an SLA breach: a new field, ``escalated`` (v1: never)."""
    return {**data, "escalated": False}


async def test_a_v1_sla_breach_and_its_native_v2_twin_both_count_in_the_window_kri(
    risk_settings: RiskSettings,
    as_role: Headers,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``tickets.SlaBreached`` v1 -> v2 through the inbox of the window KRI "SLA breaches in
    the last 30 days" (``WindowKriInbox``): both breaches are in the window."""
    settings = risk_settings.model_copy(
        update={"kri_sla_breaches_amber": 2, "kri_sla_breaches_red": 3}
    )
    topic = events_topic("tickets", settings.topic_namespace)
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = create_producer(kafka_bootstrap, client_id="test-tickets-sla-v2")
    await producer.start()
    tickets = Tickets(producer, topic)
    officer = as_role("risk-officer")
    try:
        async with running_risk(settings, clock=Clock(B + timedelta(hours=3))) as client:
            risk: Risk = client.risk  # type: ignore[attr-defined]
            [inbox] = [h for h in risk.runtime.inboxes if h.name == "kri_sla_breaches_30d"]
            monkeypatch.setattr(tickets_events.SlaBreached, "version", 2)  # the reader's class
            inbox.codec.register_upcaster(BREACHED, 1, resolution_clock)
            sla = {"clock": "resolution", "priority": 2, "target_seconds": 3600}
            old, native = (
                at(tickets, "SlaBreached", B + timedelta(minutes=n), due_at=B.isoformat(), **sla)
                for n in range(2)
            )
            native = replace(native, type=f"{BREACHED}.v2", data=resolution_clock(native.data))
            await tickets.publish(old, native)

            async def both_measured() -> bool:
                found = await client.get(f"/v1/kris/{SLA}", headers=officer)
                return found.status_code == 200 and found.json()["measurement_count"] >= 2

            await wait_until(both_measured, "both breaches in the SLA KRI", timeout=30)
            kri = await read(client, officer, f"/v1/kris/{SLA}", await head(risk))
            assert (kri["value"], kri["status"]) == (2.0, "amber"), kri
    finally:
        await producer.stop()

"""Upcasting reaches risk's inbox of tickets events (issue 15): ``tickets.TicketOpened`` moves
to ``.v2`` (a new field, ``channel``; every v1 ticket came by the API), the inbox's own class
of it (``risk.domain.tickets_events``) becomes v2 with the kernel's upcaster v1 -> v2, and a
v1 critical incident still on the topic counts in the KRI "open critical IT incidents" as its
native v2 twin does. Without the upcaster the v1 opening would be dead-lettered and the count
would stay at one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from risk.bootstrap import Risk, RiskSettings
from risk.domain import tickets_events
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics, events_topic
from shared_kernel.testing import Headers

from .conftest import running_risk
from .test_risk_kri_stream import KRI, Tickets, head, kri_events, read, status_changes, wait_until

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

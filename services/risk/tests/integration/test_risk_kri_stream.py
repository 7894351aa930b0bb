"""The stream-fed KRI "open critical IT incidents" from tickets events on Kafka: the count and
its status changes are recorded exactly once, across a restart of the service and a replay of
the tickets topic from offset zero (and a duplicate publication)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from risk.app.kri_stream import OpenCriticalIncidentsInbox as Inbox
from risk.bootstrap import Risk, RiskSettings
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.inbox import InboxWriter
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_topic,
    ensure_topics,
    events_topic,
)
from shared_kernel.schema import events
from shared_kernel.testing import Headers

from .conftest import running_risk

pytestmark = pytest.mark.integration

KRI = "open-critical-incidents"
STREAM = f"kri:{KRI}"
START = datetime.now(UTC) - timedelta(hours=1)


class Tickets:
    """Publishes tickets-service events as the kernel's relay would: CloudEvents keyed by
    ticket id, each with its ticket's stream version and a global position."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.position = 0
        self.versions: dict[str, int] = {}

    def event(self, ticket_id: str, name: str, **data: Any) -> EventEnvelope:
        self.position += 1
        self.versions[ticket_id] = self.versions.get(ticket_id, 0) + 1
        return EventEnvelope(
            id=uuid4(),
            source="/tickets",
            type=f"tickets.{name}.v1",
            subject=ticket_id,
            time=START + timedelta(minutes=self.position),
            data={"ticket_id": ticket_id, **data},
            stream_type="ticket",
            stream_version=self.versions[ticket_id],
            position=self.position,
            correlation_id=str(uuid4()),
            causation_id=str(uuid4()),
            actor=Actor("user:operator", "back"),
        )

    async def publish(self, *envelopes: EventEnvelope) -> None:
        for envelope in envelopes:
            await self.producer.send_and_wait(
                self.topic, envelope.to_json_bytes(), key=envelope.subject.encode()
            )


async def kri_events(risk: Risk) -> list[tuple[str, dict[str, Any]]]:
    async with risk.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.event_type, events.c.data)
            .where(events.c.stream_id == STREAM)
            .order_by(events.c.stream_version)
        )
        return [(str(t), dict(d)) for t, d in rows]


async def head(risk: Risk) -> int:
    async with risk.runtime.engine.connect() as conn:
        return await risk.runtime.store.head(conn)


def status_changes(stored: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    return [
        (d["from_status"], d["to_status"], d["value"])
        for t, d in stored
        if t == "risk.KriStatusChanged"
    ]


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[Any] = []
        while len(records) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()


async def test_open_critical_incidents_are_counted_once_across_restart_and_replay(
    risk_settings: RiskSettings, as_role: Headers, kafka_bootstrap: str
) -> None:
    settings = risk_settings.model_copy(
        update={"kri_open_critical_incidents_amber": 1, "kri_open_critical_incidents_red": 2}
    )
    topic = events_topic("tickets", settings.topic_namespace)
    # One partition: the test fixes the order across tickets, so the status history is exact.
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = create_producer(kafka_bootstrap, client_id="test-tickets")
    await producer.start()
    tickets = Tickets(producer, topic)
    officer = as_role("risk-officer")
    try:
        duplicated = tickets.event("T2", "TicketPriorityChanged", priority=1)
        await tickets.publish(
            tickets.event("T1", "TicketOpened", ticket_type="incident", priority=1, queue_id="q"),
            tickets.event("T2", "TicketOpened", ticket_type="incident", priority=2, queue_id="q"),
            tickets.event("T3", "TicketOpened", ticket_type="service_request", priority=1),
            # A malformed event is dead-lettered; the others still count.
            tickets.event("T9", "TicketOpened", ticket_type="incident", priority="urgent"),
            duplicated,
            duplicated,
            tickets.event("T1", "TicketStatusChanged", status="resolved", previous_status="open"),
        )
        expected = [(None, "amber", 1.0), ("amber", "red", 2.0), ("red", "amber", 1.0)]

        async with running_risk(settings) as client:
            risk: Risk = client.risk  # type: ignore[attr-defined]

            async def counted() -> bool:
                return len(status_changes(await kri_events(risk))) >= len(expected)

            await wait_until(counted, "the first three status changes")
            kri = await read(client, officer, f"/v1/kris/{KRI}", await head(risk))
            assert (kri["value"], kri["status"], kri["source"]) == (1.0, "amber", "stream")
            refused = await client.post(
                f"/v1/kris/{KRI}/measurements", json={"value": 5}, headers=officer
            )
            assert (refused.status_code, refused.json()["code"]) == (409, "KriFedByStream")
        first_run = await kri_events(risk)
        assert status_changes(first_run) == expected
        assert [t for t, _ in first_run].count("risk.KriDefined") == 1

        # A restart continues where the inbox stopped: nothing twice, the next event counts.
        await tickets.publish(
            tickets.event("T2", "TicketStatusChanged", status="closed", previous_status="open")
        )
        async with running_risk(settings) as client:
            risk = client.risk  # type: ignore[attr-defined]

            async def moved_on() -> bool:
                return len(status_changes(await kri_events(risk))) > len(expected)

            await wait_until(moved_on, "the status change after the restart")
            kri = await read(client, officer, f"/v1/kris/{KRI}", await head(risk))
            assert (kri["value"], kri["status"]) == (0.0, "green")
            history = await read(client, officer, f"/v1/kris/{KRI}/measurements", await head(risk))
            assert [m["value"] for m in history["items"]] == [0.0, 1.0, 2.0, 1.0]

            # A replay of the whole tickets topic through the inbox changes nothing.
            before = await kri_events(risk)
            handler = next(h for h in risk.runtime.inboxes if h.name == Inbox.name)
            writer = InboxWriter(
                handler, "risk", risk.runtime.unit_of_work, risk.runtime.dead_letters()
            )
            records = await read_all(kafka_bootstrap, topic)
            assert len(records) == 8
            await writer.write(records)
            assert writer.handled == 0
            assert await kri_events(risk) == before
        assert status_changes(before) == [*expected, ("amber", "green", 0.0)]
        dead = await read_all(kafka_bootstrap, dead_letter_topic("risk", settings.topic_namespace))
        assert [json.loads(r.value)["data"]["ticket_id"] for r in dead] == ["T9"]
    finally:
        await producer.stop()


async def read(client: httpx.AsyncClient, headers: dict[str, str], path: str, position: int) -> Any:
    response = await client.get(
        path, params={"min_position": position, "wait_ms": 10000}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistent") == "true", path
    return response.json()

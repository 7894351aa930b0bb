"""The office watches itself, with PostgreSQL and Kafka: a projection of the tickets service
meets a poison event -> a ``DeadLettered`` notice on ``tickets.dead-letter-notices`` -> the
running tickets service's inbox opens an incident in ``it-support`` (host tickets, check the
projection). A rebuild that still meets the poison announces nothing; once the projection is
fixed, a rebuild that meets none announces the recovery and the incident is resolved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_notices_topic,
    ensure_topics,
)
from shared_kernel.projections import Projection, ProjectionWriter
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers
from shared_kernel.unit_of_work import CommandContext
from sqlalchemy.ext.asyncio import AsyncConnection
from tickets.bootstrap import TicketsSettings
from tickets.domain import AlertSource, Status, Ticket, queue_id_for, source_id_for

from .conftest import FakeClock, running_tickets
from .tickets_runtime import service_of, settle

pytestmark = pytest.mark.integration

CONTEXT = CommandContext.system("test")
metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)
counts = sa.Table("flaky_counts", metadata, sa.Column("id", sa.Text, primary_key=True))


class FlakyView(Projection):
    """A read model with a bug: it cannot apply an event marked ``poison`` until fixed."""

    name = "flaky_view"
    metadata = metadata

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)
        self.fixed = False

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        if event.data.get("poison") and not self.fixed:
            raise ValueError("cannot count a poison event")
        await conn.execute(counts.insert().values(id=event.subject))


def envelope(subject: str, **data: Any) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source="/flaky",
        type="flaky.Happened.v1",
        subject=subject,
        time=datetime.now(UTC),
        data=data,
        stream_type="thing",
        stream_version=1,
        position=1,
        correlation_id=f"case-{subject}",
        causation_id=f"case-{subject}",
        actor=Actor("user:op", "back"),
    )


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"no {what} after {seconds}s"
        await asyncio.sleep(0.2)


async def test_a_dead_letter_opens_an_incident_and_a_clean_rebuild_resolves_it(
    tickets_settings: TicketsSettings,
    clock: FakeClock,
    kafka_bootstrap: str,
    topic_namespace: str,
    as_role: Headers,
) -> None:
    topic = f"{topic_namespace}flaky.events"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = create_producer(kafka_bootstrap, client_id="flaky-test")
    await producer.start()
    try:
        for event in (envelope("a"), envelope("b", poison=True), envelope("c")):
            await producer.send_and_wait(topic, event.to_json_bytes(), partition=0)
    finally:
        await producer.stop()
    notices_topic = dead_letter_notices_topic("tickets", topic_namespace)

    async with running_tickets(tickets_settings, clock) as client:
        service = service_of(client)
        projection = FlakyView(topic)
        read_model = ReadModelStore(service.runtime.engine, projection.name, metadata)
        dead = service.runtime.dead_letters()
        live = ProjectionWriter(projection, read_model, await read_model.ensure_live(), dead)
        await live.write(TopicPartition(topic, 0), await read_all(kafka_bootstrap, topic))
        assert (live.applied, live.poisoned) == (2, 1)

        incident = await eventually(lambda: open_incident(client), "incident")
        assert incident.queue_id == queue_id_for("it-support")
        assert incident.title == "tickets: flaky_view" and incident.status is Status.NEW
        await settle(client)
        listed = await client.get(
            "/v1/tickets", params={"queue_id": queue_id_for("it-support")}, headers=as_role()
        )
        [listed_incident] = listed.json()["items"]
        assert listed_incident["ticket_id"] == incident.id
        assert "offset 1" in listed_incident["description"]
        assert listed_incident["category"] == "dead-letters"
        [dead_lettered] = notices(await read_all(kafka_bootstrap, notices_topic))
        assert dead_lettered["type"] == "backoffice.DeadLettered.v1"
        assert dead_lettered["correlationid"] == "case-b"  # the case of the poison event
        assert dead_lettered["data"]["source_offset"] == 1

        # Still broken: the rebuild meets the poison again, announces nothing and does not
        # dead-letter it a second time (the live generation did).
        report = await rebuild(projection, read_model, kafka_bootstrap, dead)
        assert report.poisoned == 1
        assert len(notices(await read_all(kafka_bootstrap, notices_topic))) == 1

        projection.fixed = True
        report = await rebuild(projection, read_model, kafka_bootstrap, dead)
        assert (report.events, report.poisoned) == (3, 0)
        recovered = notices(await read_all(kafka_bootstrap, notices_topic))[-1]
        assert recovered["type"] == "backoffice.DeadLettersRecovered.v1"

        resolved = await eventually(lambda: ticket_in(client, incident.id, Status.RESOLVED), "fix")
        assert resolved.status is Status.RESOLVED
        assert await open_incident(client) is None


def notices(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(r.value or b"") for r in records]


async def open_incident(client: httpx.AsyncClient) -> Ticket | None:
    service = service_of(client)
    async with service.runtime.unit_of_work(CONTEXT) as uow:
        source = await uow.find(AlertSource, source_id_for("tickets", "flaky_view"))
        if source is None or source.open_ticket_id is None:
            return None
        return await uow.get(Ticket, source.open_ticket_id)


async def ticket_in(client: httpx.AsyncClient, ticket_id: str, status: Status) -> Ticket | None:
    service = service_of(client)
    async with service.runtime.unit_of_work(CONTEXT) as uow:
        ticket = await uow.get(Ticket, ticket_id)
    return ticket if ticket.status is status else None

"""The office watches itself, with PostgreSQL and Kafka: a projection (or an inbox) of the
tickets service meets a poison event -> a ``DeadLettered`` notice on
``tickets.dead-letter-notices`` -> the running tickets service's inbox opens an incident in
``it-support`` (host tickets, check the consumer). A rebuild (a re-drive) that still meets the
poison announces nothing; once the consumer is fixed, a rebuild (``python -m tickets redrive``)
that meets none announces the recovery and the incident is resolved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.inbox import InboxHandler, InboxWriter
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_notices_topic,
    dead_letter_topic,
    ensure_topics,
)
from shared_kernel.projections import Projection, ProjectionWriter
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.rebuild import rebuild
from shared_kernel.redrive import read_dead_letters, redrive, redrive_service
from shared_kernel.testing import Headers
from shared_kernel.unit_of_work import CommandContext, UnitOfWork
from sqlalchemy.ext.asyncio import AsyncConnection
from tickets.bootstrap import TicketsSettings, bootstrap
from tickets.domain import AlertSource, Status, Ticket, queue_id_for, source_id_for

from .conftest import FakeClock, running_tickets
from .tickets_runtime import service_of, settle

pytestmark = pytest.mark.integration

CONTEXT = CommandContext.system("test")
metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)
counts = sa.Table("flaky_counts", metadata, sa.Column("id", sa.Text, primary_key=True))


@dataclass(frozen=True)
class Happened(DomainEvent):
    event_type = "flaky.Happened"

    poison: bool = False


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


async def flaky_topic(bootstrap: str, namespace: str) -> str:
    """A topic with three events, the second of them poison."""
    topic = f"{namespace}flaky.events"
    await ensure_topics(bootstrap, [TopicSpec(topic, 1)])
    producer = create_producer(bootstrap, client_id="flaky-test")
    await producer.start()
    try:
        for event in (envelope("a"), envelope("b", poison=True), envelope("c")):
            await producer.send_and_wait(topic, event.to_json_bytes(), partition=0)
    finally:
        await producer.stop()
    return topic


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
    topic = await flaky_topic(kafka_bootstrap, topic_namespace)
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


class FlakyInbox(InboxHandler):
    """An inbox with a bug: it cannot handle an event marked ``poison`` until fixed."""

    name = "flaky_inbox"
    codec = EventCodec([Happened])
    batch_size = 1  # ``handled`` is outside the transaction: no batch rolled back after it

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)
        self.fixed = False
        self.handled: list[str] = []

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        for envelope, event in events:
            assert isinstance(event, Happened)
            if event.poison and not self.fixed:
                raise ValueError("cannot decide on a poison event")
            self.handled.append(envelope.subject)


async def test_an_inbox_dead_letter_opens_an_incident_and_a_clean_redrive_resolves_it(
    tickets_settings: TicketsSettings,
    clock: FakeClock,
    kafka_bootstrap: str,
    topic_namespace: str,
) -> None:
    topic = await flaky_topic(kafka_bootstrap, topic_namespace)
    dead_letters = dead_letter_topic("tickets", topic_namespace)
    inbox = FlakyInbox(topic)

    async with running_tickets(tickets_settings, clock) as client:
        service = service_of(client)
        dead = service.runtime.dead_letters()
        writer = InboxWriter(inbox, "tickets", service.runtime.unit_of_work, dead)
        await writer.write(await read_all(kafka_bootstrap, topic))
        assert inbox.handled == ["a", "c"]
        incident = await eventually(lambda: open_incident(client, "tickets.flaky_inbox"), "one")
        assert incident.title == "tickets: tickets.flaky_inbox"

        records, end = await read_dead_letters(kafka_bootstrap, dead_letters)
        still_broken = await redrive(writer, records, dead, run=f"{dead_letters}@{end}")
        assert (still_broken.redriven, len(still_broken.failed)) == (0, 1)

        # Fixed, and re-driven as an operator does it: python -m tickets redrive <consumer>.
        inbox.fixed = True
        quiet = tickets_settings.model_copy(
            update={"run_relay": False, "run_projections": False, "run_inboxes": False}
        )
        operator = bootstrap(quiet)
        operator.runtime.inboxes.append(inbox)
        report = await redrive_service(operator.runtime, "tickets.flaky_inbox")
        assert (report.redriven, report.clean) == (1, True)
        assert inbox.handled == ["a", "c", "b"]

        resolved = await eventually(lambda: ticket_in(client, incident.id, Status.RESOLVED), "fix")
        assert resolved.status is Status.RESOLVED
        again = await redrive(writer, records, dead, run=f"{dead_letters}@{end}")
        assert (again.redriven, again.skipped) == (0, 1) and inbox.handled == ["a", "c", "b"]


def notices(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(r.value or b"") for r in records]


async def open_incident(client: httpx.AsyncClient, check: str = "flaky_view") -> Ticket | None:
    service = service_of(client)
    async with service.runtime.unit_of_work(CONTEXT) as uow:
        source = await uow.find(AlertSource, source_id_for("tickets", check))
        if source is None or source.open_ticket_id is None:
            return None
        return await uow.get(Ticket, source.open_ticket_id)


async def ticket_in(client: httpx.AsyncClient, ticket_id: str, status: Status) -> Ticket | None:
    service = service_of(client)
    async with service.runtime.unit_of_work(CONTEXT) as uow:
        ticket = await uow.get(Ticket, ticket_id)
    return ticket if ticket.status is status else None

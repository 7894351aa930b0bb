"""Breach -> incident with PostgreSQL and Kafka: risk events on ``risk.events`` open one
incident in the risk-limits queue (findable by the queue's name and the breach id), the
measures recorded on the breach become internal notes, back within the limit resolves it;
a duplicate publication, a replay of the whole topic and a rebuild change nothing; the
incident's events carry the breach's case, and an agent's note continues it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.inbox import InboxWriter
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers
from tickets.app.limit_breaches import LimitBreachIncidents
from tickets.bootstrap import TicketsSettings
from tickets.domain.limit_breaches import incident_id_for

from .conftest import FakeClock, running_tickets
from .tickets_api import read
from .tickets_runtime import service_of, settle, stream_data

pytestmark = pytest.mark.integration

START = datetime.now(UTC) - timedelta(hours=1)
LIMIT, EXPOSURE = f"limit-{uuid4()}", f"exposure-{uuid4()}"


def risk_event(name: str, subject: str, case: str, **data: Any) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source="/risk",
        type=f"risk.{name}.v1",
        subject=subject,
        time=START,
        data=data,
        stream_type="exposure",
        stream_version=1,
        position=1,
        correlation_id=case,
        causation_id=str(uuid4()),
        actor=Actor("system:risk-ledger_exposures", "system"),
    )


def crossing(name: str, case: str, exposure: int, minutes: int, **extra: Any) -> EventEnvelope:
    return risk_event(
        name,
        EXPOSURE,
        case,
        crossing_id=str(uuid4()),
        limit_id=LIMIT,
        limit_version=1,
        exposure_id=EXPOSURE,
        dimension="counterparty",
        counterparty="ACME",
        desk=None,
        currency="EUR",
        exposure=exposure,
        limit_amount=1_000_000,
        warning_threshold_bp=8000,
        utilisation_bp=exposure * 10_000 // 1_000_000,
        state="breached",
        cause="entry",
        cause_id="entry-1",
        at=(START + timedelta(minutes=minutes)).isoformat(),
        **extra,
    )


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def read_topic(
    bootstrap: str, topic: str, partition_count: int
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partition_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < sum(ends.values()):
            batch = await consumer.getmany(timeout_ms=1000)
            for got in batch.values():
                records.extend(got)
        return records
    finally:
        await consumer.stop()


async def incidents(client: httpx.AsyncClient, officer: dict[str, str]) -> list[dict[str, Any]]:
    position = await settle(client)
    page = await read(client, officer, "/v1/tickets", position, queue="risk-limits")
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_a_breach_opens_one_incident_noted_and_resolved_from_risk_events(
    tickets_settings: TicketsSettings, as_role: Headers, clock: FakeClock, kafka_bootstrap: str
) -> None:
    officer, agent = as_role("risk-officer"), as_role("it-support")
    case = str(uuid4())
    breach = crossing("LimitBreached", case, 1_600_000, 0)
    breach_id = breach.data["crossing_id"]
    measures = risk_event(
        "LimitBreachMeasuresRecorded",
        f"breach-{breach_id}",
        case,
        breach_id=breach_id,
        limit_id=LIMIT,
        measures="Collateral called from ACME",
        recorded_by="user:rita",
        at=(START + timedelta(minutes=5)).isoformat(),
    )
    back = crossing("LimitBackWithinThreshold", case, 900_000, 10, threshold="limit")
    topic = events_topic("risk", tickets_settings.topic_namespace)
    producer = create_producer(kafka_bootstrap, client_id="test-risk")
    await producer.start()
    try:
        async with running_tickets(tickets_settings, clock) as client:
            for envelope in (breach, measures, breach, back):  # the breach published twice
                await producer.send_and_wait(
                    topic, envelope.to_json_bytes(), key=envelope.subject.encode()
                )

            async def resolved() -> bool:
                found = await incidents(client, officer)
                return bool(found) and found[0]["status"] == "resolved"

            await wait_until(resolved, "the incident to be resolved")
            found = await incidents(client, officer)
            assert len(found) == 1
            ticket = found[0]
            assert ticket["ticket_id"] == incident_id_for(breach_id)
            assert ticket["priority"] == 1  # 160 % of the limit
            assert ticket["origin"]["id"] == ticket["origin_id"] == breach_id
            assert ticket["origin"]["kind"] == "limit_breach"
            by_breach = await client.get(
                "/v1/tickets", params={"origin_id": breach_id}, headers=officer
            )
            assert [t["ticket_id"] for t in by_breach.json()["items"]] == [ticket["ticket_id"]]
            conversation = await client.get(
                f"/v1/tickets/{ticket['ticket_id']}/conversation", headers=officer
            )
            notes = [(m["author"], m["internal"]) for m in conversation.json()["items"]]
            assert ("user:rita", True) in notes and len(notes) == 2
            assert any(
                m["body"] == "back within limit: exposure 900,000 EUR of 1,000,000 EUR"
                for m in conversation.json()["items"]
            )

            # Every effect joined the breach's case; an agent's note continues it.
            noted = await client.post(
                f"/v1/tickets/{ticket['ticket_id']}/notes",
                json={"body": "Checked with the desk"},
                headers=agent,
            )
            assert noted.status_code == 201, noted.text
            stored = await stream_data(client, ticket["ticket_id"])
            service = service_of(client)
            async with service.runtime.engine.connect() as conn:
                envelopes = await service.runtime.store.read_stream(conn, ticket["ticket_id"])
            assert {e.correlation_id for e in envelopes} == {case}
            assert envelopes[0].causation_id == str(breach.id)
            assert [s["type"] for s in stored].count("tickets.TicketOpened") == 1

            # A replay of the whole risk topic through the inbox changes nothing.
            async with service.runtime.engine.connect() as conn:
                head = await service.runtime.store.head(conn)
            handler = next(h for h in service.runtime.inboxes if h.name == "limit_breach_incidents")
            assert isinstance(handler, LimitBreachIncidents)
            writer = InboxWriter(
                handler, "tickets", service.runtime.unit_of_work, service.runtime.dead_letters()
            )
            records = await read_topic(kafka_bootstrap, topic, tickets_settings.topic_partitions)
            assert len(records) == 4
            await writer.write(records)
            assert writer.handled == 0
            async with service.runtime.engine.connect() as conn:
                assert await service.runtime.store.head(conn) == head

            # A rebuild of the read model gives the same answer.
            before = await incidents(client, officer)
            projection = service.runtime.projections[0]
            report = await rebuild(
                projection,
                service.runtime.read_models[projection.name],
                service.settings.kafka_bootstrap_servers,
                service.runtime.dead_letters(),
            )
            assert report.generation == 2
            assert await incidents(client, officer) == before
    finally:
        await producer.stop()

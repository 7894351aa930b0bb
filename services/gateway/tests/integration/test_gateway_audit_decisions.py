"""Searching the audit trail with real PostgreSQL and Kafka: requests allowed and denied are
recorded on the audit topic, projected by the gateway into ``audit_decisions`` and found with
``GET /audit/v1/decisions`` by an auditor (never by a trader), filtered and page by page; the
same after the topic is replayed from offset zero and after a rebuild."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from gateway.app.operators import RegisterOperator
from gateway.projections.audit_decisions import AuditDecisions, audit_decisions
from shared_kernel.identity import Caller
from shared_kernel.kafka import create_producer, topic_partitions
from shared_kernel.rebuild import rebuild

from .conftest import RunningGateway

pytestmark = pytest.mark.integration

PASSWORD = "a-long-password-1"
SEARCH = "/audit/v1/decisions"


async def register(running: RunningGateway, username: str, role: str) -> dict[str, str]:
    await running.gateway.register_operator(
        RegisterOperator(username, username.title(), frozenset({role}), PASSWORD),
        Caller.system("test"),
    )
    return await running.log_in(username, PASSWORD)


async def search(running: RunningGateway, headers: dict[str, str], **filters: Any) -> Any:
    answer = await running.client.get(SEARCH, headers=headers, params=filters)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def until_found(
    running: RunningGateway, headers: dict[str, str], count: int, **filters: Any
) -> list[dict[str, Any]]:
    """The decisions matching ``filters`` once the projection has read ``count`` of them."""
    for _ in range(300):
        items: list[dict[str, Any]] = (await search(running, headers, **filters))["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {count} decisions for {filters} in time: {items}")


async def topic_records(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end, as stored (key, value, partition)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        count = await topic_partitions(bootstrap, topic)
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def rows(running: RunningGateway) -> dict[Any, tuple[Any, ...]]:
    """Every row of the live generation, by record id."""
    read_model = running.gateway.runtime.read_models[AuditDecisions.name]
    async with read_model.reading() as conn:
        return {r.record_id: tuple(r) for r in await conn.execute(sa.select(audit_decisions))}


async def until_caught_up(running: RunningGateway, topic: str) -> None:
    """Until the live generation has handled every record now on ``topic``."""
    bootstrap = running.gateway.settings.kafka_bootstrap_servers
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in range(await topic_partitions(bootstrap, topic))
        ]
        end = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    read_model = running.gateway.runtime.read_models[AuditDecisions.name]
    for _ in range(300):
        done = await read_model.checkpoint_offsets(await read_model.active_generation_required())
        if all(done.get(tp, -1) >= offset - 1 for tp, offset in end.items()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the audit read model did not reach {end}: {done}")


async def test_an_auditor_finds_allowed_and_denied_requests_and_a_trader_may_not_look(
    running: RunningGateway,
) -> None:
    ida, tom = await register(running, "ida", "auditor"), await register(running, "tom", "trader")
    allowed = await running.client.get(
        "/ledger/v1/booking-requests", headers={**tom, "X-Request-Id": "tom-reads-his-requests"}
    )
    denied = await running.client.post("/ledger/v1/journal-entries", json={}, headers=tom)
    nosy = await running.client.get(SEARCH, headers=tom)

    assert (allowed.status_code, denied.status_code) == (200, 403)
    assert nosy.status_code == 403
    assert nosy.headers["content-type"] == "application/problem+json"
    assert nosy.json()["code"] == "AuditorRequired"

    # Tom's log-in, his read, his refused posting, his refused search: newest first.
    toms = await until_found(running, ida, 4, subject="tom")
    assert [(d["method"], d["route"], d["status"], d["outcome"], d["reason"]) for d in toms] == [
        ("GET", "/audit/v1/decisions", 403, "deny", "AuditorRequired"),
        ("POST", "/ledger/v1/journal-entries", 403, "deny", "RoleMissing"),
        ("GET", "/ledger/v1/booking-requests", 200, "allow", "PolicyAllowed"),
        ("POST", "/auth/login", 200, "allow", "LoggedIn"),
    ]
    read = toms[2]
    assert read["request_id"] == allowed.headers["X-Request-Id"]
    assert read["client_request_id"] == "tom-reads-his-requests"
    assert (read["subject_kind"], read["office"], read["roles"]) == ("user", "front", ["trader"])
    assert [d["time"] for d in toms] == sorted((d["time"] for d in toms), reverse=True)

    # Each filter narrows the search to what it names.
    refused = await search(running, ida, subject="tom", outcome="deny")
    assert [d["route"] for d in refused["items"]] == [toms[0]["route"], toms[1]["route"]]
    assert [d["id"] for d in (await search(running, ida, status=200, subject="tom"))["items"]] == [
        toms[2]["id"],
        toms[3]["id"],
    ]
    by_prefix = await search(running, ida, path_prefix="/ledger/v1/journal")
    assert [d["id"] for d in by_prefix["items"]] == [toms[1]["id"]]
    for request_id in (allowed.headers["X-Request-Id"], "tom-reads-his-requests"):
        found = await search(running, ida, request_id=request_id)
        assert [d["id"] for d in found["items"]] == [read["id"]]
    window = await search(running, ida, subject="tom", since=toms[2]["time"], until=toms[0]["time"])
    assert [d["id"] for d in window["items"]] == [toms[1]["id"], toms[2]["id"]]

    # Page by page, one at a time: the same decisions, each once.
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await search(
            running, ida, subject="tom", limit=1, **({"cursor": cursor} if cursor else {})
        )
        pages.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [d["id"] for d in pages] == [d["id"] for d in toms]


async def test_a_replay_of_the_audit_topic_and_a_rebuild_change_nothing(
    running: RunningGateway,
) -> None:
    ida = await register(running, "ida", "auditor")
    tom = await register(running, "tom", "trader")
    await running.client.post("/ledger/v1/journal-entries", json={}, headers=tom)
    toms = await until_found(running, ida, 2, subject="tom")
    topic = running.gateway.audit.topic
    await running.gateway.audit.queue.join()
    await until_caught_up(running, topic)
    before = await rows(running)
    assert len(before) >= 4  # ida's and tom's log-ins, tom's post, ida's search

    # Every record again, at new offsets: a publisher retrying, a producer replaying the topic.
    settings = running.gateway.settings
    replayed = await topic_records(settings.kafka_bootstrap_servers, topic)
    assert {UUID(json.loads(r.value or b"")["id"]) for r in replayed} == set(before)
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="test-replay")
    await producer.start()
    try:
        for record in replayed:
            await producer.send_and_wait(
                topic, value=record.value, key=record.key, partition=record.partition
            )
    finally:
        await producer.stop()
    await until_caught_up(running, topic)

    after_replay = await rows(running)
    assert after_replay == before  # nothing was added or changed, no search ran meanwhile
    [runner] = [
        r for r in running.gateway.runtime.runners if r.projection.name == AuditDecisions.name
    ]
    assert runner.writer is not None and runner.writer.poisoned == 0

    runtime = running.gateway.runtime
    [projection] = [p for p in runtime.projections if p.name == AuditDecisions.name]
    report = await rebuild(
        projection,
        runtime.read_models[projection.name],
        settings.kafka_bootstrap_servers,
        runtime.dead_letters(),
    )

    assert report.generation >= 2 and report.poisoned == 0
    assert await rows(running) == before
    rebuilt = (await search(running, ida, subject="tom", limit=200))["items"]
    assert rebuilt == toms

"""Every decision of the gateway is a record on the Kafka topic ``gateway.audit``: exactly one
per request, allowed or refused; and the gateway's events carry no secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from gateway.adapters.audit import audit_topic
from shared_kernel.kafka import events_topic, topic_partitions

from .conftest import RunningGateway

pytestmark = pytest.mark.integration


async def read_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every message on ``topic`` up to its current end, as JSON."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        count = await topic_partitions(bootstrap, topic)
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        messages: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(*partitions, timeout_ms=1000)).values():
                messages.extend(json.loads(m.value) for m in batch if m.value is not None)
        return messages
    finally:
        await consumer.stop()


async def audit_records(running: RunningGateway) -> dict[str, list[dict[str, Any]]]:
    """The audit records on Kafka by request id, once everything queued is published."""
    await running.gateway.audit.queue.join()
    settings = running.gateway.settings
    records: dict[str, list[dict[str, Any]]] = {}
    topic = audit_topic(settings.topic_namespace)
    for message in await read_topic(settings.kafka_bootstrap_servers, topic):
        records.setdefault(message["correlationid"], []).append(message["data"])
    return records


async def test_a_refused_and_an_allowed_request_leave_exactly_one_record_each(
    running: RunningGateway,
) -> None:
    admin = await running.admin()
    created = await running.client.post(
        "/admin/v1/operators",
        json={
            "username": "tom",
            "display_name": "Tom",
            "roles": ["trader"],
            "password": "tom-password",
        },
        headers=admin,
    )
    tom = await running.log_in("tom", "tom-password")
    refused = await running.client.post("/ledger/v1/journal-entries", json={}, headers=tom)
    bad_login = await running.client.post(
        "/auth/login", json={"username": "tom", "password": "not-his-password"}
    )
    allowed = await running.client.get(
        "/ledger/v1/accounts/42", headers={**admin, "X-Request-Id": "audit-allowed-1"}
    )

    records = await audit_records(running)

    assert refused.status_code == 403 and allowed.status_code == 403  # admin reads no ledger
    [denied] = records[refused.headers["X-Request-Id"]]
    assert denied | {"client": "x"} == denied | {
        "subject": "tom",
        "kind": "user",
        "office": "front",
        "roles": ["trader"],
        "method": "POST",
        "route": "/ledger/v1/journal-entries",
        "path": "/ledger/v1/journal-entries",
        "status": 403,
        "decision": "deny",
        "reason": "RoleMissing",
        "client": "x",
    }
    [login_refused] = records[bad_login.headers["X-Request-Id"]]
    assert (login_refused["subject"], login_refused["reason"]) == ("tom", "InvalidCredentials")
    [admin_change] = records[created.headers["X-Request-Id"]]
    assert (admin_change["decision"], admin_change["reason"]) == ("allow", "OperatorRegistered")
    assert admin_change["subject"] == "root" and admin_change["target"] == "operator:tom"
    assert admin_change["route"] == "/admin/v1/operators"
    assert all(len(found) == 1 for found in records.values())


async def test_an_allowed_proxied_request_is_recorded_once_with_its_route_template(
    running: RunningGateway,
) -> None:
    admin = await running.admin()
    await running.client.post(
        "/admin/v1/operators",
        json={
            "username": "ada",
            "display_name": "Ada",
            "roles": ["accountant"],
            "password": "ada-password",
        },
        headers=admin,
    )
    ada = await running.log_in("ada", "ada-password")

    allowed = await running.client.get("/ledger/v1/accounts/42/lines", headers=ada)
    records = await audit_records(running)

    assert allowed.status_code == 200
    [record] = records[allowed.headers["X-Request-Id"]]
    assert (record["decision"], record["reason"], record["status"]) == (
        "allow",
        "PolicyAllowed",
        200,
    )
    assert record["route"] == "/ledger/v1/accounts/{account_id}/lines"
    assert (record["subject"], record["office"]) == ("ada", "back")
    assert sum(len(found) for found in records.values()) == 4  # log-in, register, log-in, read


async def test_the_gateway_events_carry_no_password_or_key(running: RunningGateway) -> None:
    admin = await running.admin()
    await running.client.post(
        "/admin/v1/systems",
        json={"name": "reporting", "display_name": "Reporting", "roles": ["auditor"]},
        headers=admin,
    )
    issued = (
        await running.client.post("/admin/v1/systems/reporting/api-keys", headers=admin)
    ).json()
    settings = running.gateway.settings
    topic = events_topic("gateway", settings.topic_namespace)

    events: list[dict[str, Any]] = []
    for _ in range(50):  # the outbox relay publishes within milliseconds
        events = await read_topic(settings.kafka_bootstrap_servers, topic)
        if len(events) >= 3:
            break

    text = json.dumps(events)
    assert [e["type"] for e in events] == [
        "gateway.OperatorRegistered.v1",
        "gateway.SystemRegistered.v1",
        "gateway.ApiKeyIssued.v1",
    ]
    assert issued["key_id"] in text
    assert issued["api_key"].split("_", 2)[2] not in text
    for secret_marker in ("password", "hash", "argon2"):
        assert secret_marker not in text

"""One trace from a gateway request to the risk inbox and back: the gateway, the ledger and the
risk service run in this process (real PostgreSQL and Kafka; the gateway reaches the ledger
over ASGI), every span goes to an in-memory exporter. A trader's booking request through the
gateway is one trace: the gateway's server and client spans, the ledger's server span, the
stored event's trace context, the CloudEvent's ``traceparent``, the risk inbox's processing of
it, the decision risk records, and the ledger's inbox that records that decision."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from argon2 import PasswordHasher
from gateway.__main__ import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.adapters.passwords import Passwords
from gateway.app.operators import RegisterOperator
from gateway.main import create_app as create_gateway_app
from gateway.settings import GatewaySettings
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app as create_ledger_app
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from risk.__main__ import MIGRATIONS as RISK_MIGRATIONS
from risk.bootstrap import RiskSettings
from risk.main import create_app as create_risk_app
from shared_kernel import schema, tracing
from shared_kernel.db import create_engine
from shared_kernel.identity import Caller
from shared_kernel.kafka import events_topic
from shared_kernel.testing import CreateDatabase, migrated_database

from .limits_ledger import ledger_settings_for

pytestmark = pytest.mark.integration

PASSWORD = "a-long-password-1"
DECISIONS = {"risk.DealCleared", "risk.DealRefused"}


@contextlib.asynccontextmanager
async def started(app: Any) -> AsyncIterator[Any]:
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def office(
    gateway: GatewaySettings, ledger: LedgerSettings, risk: RiskSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """The three services started, the gateway's client, two operators registered."""
    async with (
        started(create_ledger_app(ledger)) as ledger_app,
        started(create_risk_app(risk)),
        started(
            create_gateway_app(
                gateway,
                upstream_transport=httpx.ASGITransport(ledger_app),
                passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)),
            )
        ) as gateway_app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(gateway_app), base_url="http://gw", timeout=60
        ) as client,
    ):
        for username, role in (("acc", "accountant"), ("tom", "trader")):
            await gateway_app.state.gateway.register_operator(
                RegisterOperator(username, username, frozenset({role}), PASSWORD),
                Caller.system("test"),
            )
        yield client


async def log_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def submit_booking_request(client: httpx.AsyncClient, counterparty: str) -> str:
    """Two accounts opened by an accountant, then a trader's booking request naming a
    counterparty (which the risk inbox decides); the request's id."""
    accountant, trader = await log_in(client, "acc"), await log_in(client, "tom")
    accounts = []
    for code, kind in (("1400", "asset"), ("8000", "revenue")):
        opened = await client.post(
            "/ledger/v1/accounts",
            json={"code": code, "name": f"A {code}", "account_type": kind, "currency": "EUR"},
            headers=accountant,
        )
        assert opened.status_code == 201, opened.text
        accounts.append(opened.json()["id"])
    lines = [
        {"account_id": accounts[0], "side": "debit", "amount": 500, "currency": "EUR"},
        {"account_id": accounts[1], "side": "credit", "amount": 500, "currency": "EUR"},
    ]
    submitted = await client.post(
        "/ledger/v1/booking-requests",
        json={
            "voucher_number": "D-1",
            "booking_date": "2026-12-03",
            "text": "A traced deal",
            "metadata": {"counterparty": counterparty},
            "lines": lines,
        },
        headers=trader,
    )
    assert submitted.status_code == 201, submitted.text
    return str(submitted.json()["id"])


async def stored_events(url: str, **where: str) -> list[Any]:
    engine = create_engine(url, pool_size=1)
    try:
        query = sa.select(schema.events).order_by(schema.events.c.position)
        for name, value in where.items():
            query = query.where(schema.events.c[name] == value)
        async with engine.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def eventually(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (found := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return found


async def published(bootstrap: str, topic: str, event_id: str) -> dict[str, Any]:
    """The CloudEvent of ``event_id`` as the relay published it."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    event: dict[str, Any] = json.loads(record.value or b"{}")
                    if event["id"] == event_id:
                        return event
    finally:
        await consumer.stop()


def trace_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def spans_named(spans: Sequence[ReadableSpan], service: str, name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.resource.attributes["service.name"] == service and s.name == name]


async def test_a_gateway_request_and_the_risk_inboxs_processing_of_its_event_share_a_trace(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> None:
    ledger = await ledger_settings_for(
        create_database, kafka_bootstrap, topic_namespace, identity_keys
    )
    common: dict[str, Any] = {
        "environment": "test",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_namespace": topic_namespace,
        "identity_public_key_file": identity_keys[1],
    }
    risk = RiskSettings(
        database_url=await migrated_database(create_database, "risk", RISK_MIGRATIONS),
        **common,
    )
    gateway = GatewaySettings(
        database_url=await migrated_database(create_database, "gateway", GATEWAY_MIGRATIONS),
        identity_private_key_file=identity_keys[0],
        services={"ledger": "http://ledger.test"},
        **common,
    )
    spans = InMemorySpanExporter()
    counterparty = f"ACME-{uuid4().hex[:6]}"
    with tracing.record_spans(spans):
        async with office(gateway, ledger, risk) as client:
            request_id = await submit_booking_request(client, counterparty)
            # Risk decides the deal (refused: no limit), the ledger records that decision.
            [submitted] = await stored_events(
                ledger.database_url, event_type="ledger.BookingRequestSubmitted"
            )
            decided = await eventually(
                lambda: stored_events(risk.database_url, causation_id=str(submitted.event_id)),
                "risk's decision on the deal",
            )
            [decision] = [r for r in decided if r.event_type in DECISIONS]
            recorded = await eventually(
                lambda: stored_events(ledger.database_url, causation_id=str(decision.event_id)),
                "the ledger recording risk's decision",
            )
            cloudevent = await published(
                kafka_bootstrap,
                events_topic("ledger", topic_namespace),
                str(submitted.event_id),
            )
    finished = spans.get_finished_spans()

    # The gateway's request: a new trace (no client header), its call to the ledger a child.
    [request] = spans_named(finished, "gateway", "POST /{service}/v1/{path:path}")[-1:]
    trace = trace_of(request)
    [call] = [s for s in spans_named(finished, "gateway", "POST ledger") if trace_of(s) == trace]
    assert call.kind == SpanKind.CLIENT and call.parent is not None
    assert call.parent.span_id == request.context.span_id
    # The ledger's server span continues the gateway's call.
    [served] = spans_named(finished, "ledger", "POST /v1/booking-requests")
    assert trace_of(served) == trace and served.parent is not None
    assert served.parent.span_id == call.context.span_id
    # The stored event and its CloudEvent carry the ledger span's context.
    assert submitted.traceparent == tracing.format_traceparent(served.context)
    assert cloudevent["traceparent"] == submitted.traceparent
    # THE check: the risk inbox processed that event in the same trace, as a child of it.
    processing = [
        s
        for s in spans_named(finished, "risk", "process risk.ledger_exposures")
        if s.parent is not None and s.parent.span_id == served.context.span_id
    ]
    assert processing, "the risk inbox left no span continuing the request's trace"
    assert {trace_of(s) for s in processing} == {trace}
    assert all(s.kind == SpanKind.CONSUMER for s in processing)
    # And on: risk's decision is stored in the trace, and the ledger's inbox continues it.
    assert {trace_id_of(row.traceparent) for row in decided} == {trace}
    clearances = [
        trace_of(s)
        for s in spans_named(finished, "ledger", "process ledger.risk_clearances")
        if s.parent is not None and f"{s.parent.span_id:016x}" == decision.traceparent.split("-")[2]
    ]
    assert clearances and set(clearances) == {trace}
    assert {trace_id_of(row.traceparent) for row in recorded} == {trace}
    assert any(row.data.get("request_id") == request_id for row in recorded)


def trace_id_of(traceparent: str | None) -> str | None:
    context = tracing.parse_traceparent(traceparent)
    return None if context is None else f"{context.trace_id:032x}"

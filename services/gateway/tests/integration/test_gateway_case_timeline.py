"""The case timeline with real PostgreSQL and Kafka: events of three services published as the
services' relays publish them, projected by the gateway, read through ``GET /cases/{id}``;
ordered by time across services, hidden from a stranger exactly like an unknown case, and the
same after a replay and after a rebuild."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from argon2 import PasswordHasher
from gateway.adapters.passwords import Passwords
from gateway.adapters.policy_file import load_policy
from gateway.app.api_keys import IssueApiKey, RegisterSystem
from gateway.app.operators import RegisterOperator
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.projections.case_timeline import CaseTimeline, case_events
from gateway.settings import POLICY_FILE, GatewaySettings
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.identity import Caller
from shared_kernel.kafka import create_producer, events_topic, partition_for
from shared_kernel.rebuild import rebuild
from shared_kernel.unit_of_work import CommandContext

pytestmark = pytest.mark.integration

SERVICES = ("ledger", "risk", "tickets")
PASSWORD = "a-long-password-1"


def policy_documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, listing exactly its routes in the shipped policy."""
    documents: dict[str, dict[str, Any]] = {}
    for rule in load_policy(POLICY_FILE).rules:
        document = documents.setdefault(
            rule.service, {"openapi": "3.1.0", "info": {"title": rule.service}, "paths": {}}
        )
        document["paths"].setdefault(rule.template.text, {})[rule.method.lower()] = {
            "responses": {"200": {"description": "OK"}}
        }
    return documents


@dataclass
class Office:
    client: httpx.AsyncClient
    gateway: Gateway
    producer: AIOKafkaProducer

    async def log_in(self, username: str) -> dict[str, str]:
        answer = await self.client.post(
            "/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def publish(self, *envelopes: EventEnvelope) -> None:
        """As a service's relay does: keyed and partitioned by subject."""
        settings = self.gateway.settings
        for envelope in envelopes:
            service = envelope.source.lstrip("/")
            await self.producer.send_and_wait(
                events_topic(service, settings.topic_namespace),
                value=envelope.to_json_bytes(),
                key=envelope.subject.encode(),
                partition=partition_for(envelope.subject, settings.topic_partitions),
            )

    async def case(self, correlation_id: str, headers: dict[str, str], **params: Any) -> Any:
        path = f"/cases/{quote(correlation_id, safe='')}"
        return await self.client.get(path, headers=headers, params=params)


@pytest.fixture
async def office(gateway_settings: GatewaySettings) -> AsyncIterator[Office]:
    documents = policy_documents()

    async def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health/live":  # the gateway's replica probe
            return httpx.Response(200, json={"status": "live"})
        assert request.url.path == "/openapi.json", "no request reaches a service here"
        return httpx.Response(200, json=documents[request.url.host.split(".")[0]])

    settings = gateway_settings.model_copy(
        update={"services": {s: f"http://{s}.test" for s in SERVICES}}
    )
    fast = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app = create_app(settings, upstream_transport=httpx.MockTransport(services), passwords=fast)
    gateway: Gateway = app.state.gateway
    async with app.router.lifespan_context(app):
        for username, role in [("tom", "trader"), ("jim", "trader"), ("anna", "accountant"),
                               ("ida", "auditor"), ("root", "admin")]:  # fmt: skip
            await gateway.register_operator(
                RegisterOperator(username, username.title(), frozenset({role}), PASSWORD),
                Caller.system("test"),
            )
        producer = create_producer(settings.kafka_bootstrap_servers, client_id="test-services")
        await producer.start()
        try:
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
                yield Office(client, gateway, producer)
        finally:
            await producer.stop()


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(
    event_type: str,
    data: dict[str, Any],
    *,
    case: str,
    seconds: float,
    subject: str,
    position: int,
    actor: Actor,
    caused_by: str = "",
) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source=f"/{event_type.split('.')[0]}",
        type=f"{event_type}.v1",
        subject=subject,
        time=T0 + timedelta(seconds=seconds),
        data=data,
        stream_type="stream",
        stream_version=1,
        position=position,
        correlation_id=case,
        causation_id=caused_by or case,
        actor=actor,
    )


def deal_story(case: str, trader: str, request: str = "") -> list[EventEnvelope]:
    """A trader's deal: submitted, refused by risk, the refusal recorded; bookkeeping beside it,
    an incident with an internal note. Published in an order that is not the case's order."""
    tom, risk = Actor(trader, "front"), Actor.system("risk-clearance")
    request = request or f"r-{uuid4().hex[:8]}"
    submitted = event(
        "ledger.BookingRequestSubmitted",
        {"request_id": request, "text": "FX", "submitted_by": trader,
         "metadata": {"counterparty": "Acme", "desk": "rates"},
         "lines": [{"side": "debit", "amount": 500_000, "currency": "EUR"},
                   {"side": "credit", "amount": 500_000, "currency": "EUR"}]},
        case=case, seconds=0, subject=request, position=10, actor=tom,
    )  # fmt: skip
    claimed = event(
        "ledger.VoucherNumberClaimed", {"fiscal_year": 2026, "voucher_number": "V-1"},
        case=case, seconds=0, subject="vouchers-2026", position=11, actor=tom,
    )  # fmt: skip
    refused = event(
        "risk.DealRefused",
        {"request_id": request, "code": "LimitExceeded", "reason": "over", "limit_id": "L-1",
         "currency": "EUR", "amount": 500_000, "shortfall": 100_000, "counterparty": "Acme"},
        case=case, seconds=1, subject=request, position=3, actor=risk,
        caused_by=str(submitted.id),
    )  # fmt: skip
    recorded = event(
        "ledger.BookingRequestRefused",
        {"request_id": request, "code": "LimitExceeded", "reason": "over", "limit_id": "L-1",
         "currency": "EUR", "shortfall": 100_000},
        case=case, seconds=2, subject=request, position=12, actor=Actor.system("ledger-risk"),
        caused_by=str(refused.id),
    )  # fmt: skip
    opened = event(
        "tickets.TicketOpened",
        {"ticket_type": "incident", "priority": 2, "queue_id": "risk-limits",
         "title": "Deal refused", "requester": "system:risk"},
        case=case, seconds=2, subject="t-1", position=1, actor=Actor.system("tickets-risk"),
        caused_by=str(refused.id),
    )  # fmt: skip
    note = event(
        "tickets.TicketNoteAdded", {"author": "anna", "body": "Called the desk."},
        case=case, seconds=3, subject="t-1", position=2, actor=Actor("anna", "back"),
    )  # fmt: skip
    return [note, refused, opened, submitted, recorded, claimed]


async def until_events(office: Office, case: str, headers: dict[str, str], count: int) -> Any:
    """The case once the projection has read ``count`` of its events (visible to the caller)."""
    for _ in range(300):
        answer = await office.case(case, headers, limit=500)
        if answer.status_code == 200 and len(answer.json()["events"]) >= count:
            return answer.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"case {case}: not {count} events in time: {answer.text}")


async def timeline_rows(office: Office) -> list[tuple[Any, ...]]:
    read_model = office.gateway.runtime.read_models[CaseTimeline.name]
    async with read_model.reading() as conn:
        rows = await conn.execute(sa.select(case_events).order_by(case_events.c.event_id))
        return [tuple(r) for r in rows]


async def test_a_case_across_three_services_in_order_for_those_who_may_see_it(
    office: Office,
) -> None:
    case, other = str(uuid4()), str(uuid4())
    story = deal_story(case, "tom")
    await office.publish(*story)
    await office.publish(*deal_story(other, "anna"))
    anna, tom, jim, ida, root = [
        await office.log_in(u) for u in ("anna", "tom", "jim", "ida", "root")
    ]

    full = await until_events(office, case, anna, 6)

    assert [(e["service"], e["type"]) for e in full["events"]] == [
        ("ledger", "ledger.BookingRequestSubmitted"),  # 09:00:00, position 10
        ("ledger", "ledger.VoucherNumberClaimed"),  # 09:00:00, position 11
        ("risk", "risk.DealRefused"),  # 09:00:01
        ("ledger", "ledger.BookingRequestRefused"),  # 09:00:02, ledger before tickets
        ("tickets", "tickets.TicketOpened"),  # 09:00:02
        ("tickets", "tickets.TicketNoteAdded"),  # 09:00:03
    ]
    assert full["started_by"] == {"subject": "tom", "office": "front"}
    # What kind of record each event is about, and which are the back office's internal work.
    assert {e["stream_type"] for e in full["events"]} == {"stream"}  # as the story publishes
    assert [e["type"] for e in full["events"] if e["internal"]] == [
        "ledger.VoucherNumberClaimed",
        "tickets.TicketNoteAdded",
    ]
    assert full["started_at"].startswith("2026-03-02T09:00:00")
    refused = full["events"][2]
    assert refused["summary"] == "Deal refused: limit L-1 exceeded by EUR 1,000.00"
    assert refused["causation_id"] == full["events"][0]["event_id"]
    assert (refused["actor"], refused["office"]) == ("system:risk-clearance", "system")
    assert full["events"][0]["summary"] == (
        "Booking request submitted by tom: EUR 5,000.00 to Acme (desk rates)"
    )
    assert (await office.case(case, ida)).json() == full  # auditors see every case

    # The trader who started it sees it, without the back office's internal events.
    own = (await office.case(case, tom)).json()
    assert [e["type"] for e in own["events"]] == [
        "ledger.BookingRequestSubmitted",
        "risk.DealRefused",
        "ledger.BookingRequestRefused",
        "tickets.TicketOpened",
    ]
    # Another trader, an administrator, an unknown case: the same 404, no login: 401.
    stranger, admin, unknown = [
        await office.case(c, h) for c, h in ((case, jim), (case, root), (str(uuid4()), jim))
    ]
    assert stranger.status_code == admin.status_code == unknown.status_code == 404
    assert {k: v for k, v in stranger.json().items() if k not in ("detail", "instance")} == {
        k: v for k, v in unknown.json().items() if k not in ("detail", "instance")
    }
    assert stranger.json()["detail"].replace(case, "?") == unknown.json()["detail"].replace(
        unknown.url.path.rsplit("/", 1)[1], "?"
    )
    assert (await office.client.get(f"/cases/{case}")).status_code == 401
    for nasty in ("x" * 201, "a b", "a\x7fb"):
        refused = await office.case(nasty, anna)
        assert (refused.status_code, refused.json()["field"]) == (422, "path.correlation_id")
    nul = await office.case("a\x00b", anna)  # refused at the edge, before any route
    assert (nul.status_code, nul.json()["field"]) == (400, "path")
    # Tom's own cases only: Anna's case is hidden from him, shown to Anna.
    assert (await office.case(other, tom)).status_code == 404
    assert (await until_events(office, other, anna, 6))["started_by"]["subject"] == "anna"


async def test_a_system_sees_the_cases_it_started_whatever_its_roles(office: Office) -> None:
    context = CommandContext(Caller.system("test"))
    admin = office.gateway.admin
    await admin.register_system(context, RegisterSystem("bot", "Bot", frozenset({"monitoring"})))
    bot = {"X-API-Key": (await admin.issue_api_key(context, IssueApiKey("bot"))).key.text}
    its, toms = str(uuid4()), str(uuid4())
    await office.publish(*deal_story(its, "bot"), *deal_story(toms, "tom"))
    anna = await office.log_in("anna")
    await until_events(office, its, anna, 6)
    await until_events(office, toms, anna, 6)

    own = await office.case(its, bot)
    assert own.status_code == 200, own.text
    assert len(own.json()["events"]) == 4  # a key with a back-office role reads no internal event
    assert (await office.case(toms, bot)).status_code == 404


async def test_pages_a_replay_and_a_rebuild_give_the_same_case(office: Office) -> None:
    case = str(uuid4())
    story = deal_story(case, "tom")
    await office.publish(*story)
    anna = await office.log_in("anna")
    full = await until_events(office, case, anna, 6)

    pages: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await office.case(case, anna, limit=4, **({"after": after} if after else {}))
        assert page.status_code == 200, page.text
        pages.extend(page.json()["events"])
        after = page.json()["next_after"]
        if after is None:
            break
    assert pages == full["events"]
    bad_cursor = await office.case(case, anna, after=str(uuid4()))
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (422, "after")

    before = await timeline_rows(office)
    # Every event again (a relay's duplicates, a producer replaying from offset zero), then a
    # case on the same streams, hence the same partitions: once it is read, so is the replay.
    await office.publish(*story)
    marker = deal_story(str(uuid4()), "tom", request=story[3].subject)
    await office.publish(*marker)
    await until_events(office, marker[0].correlation_id, anna, 6)
    assert (await office.case(case, anna, limit=500)).json() == full
    runtime = office.gateway.runtime
    projection = runtime.projections[0]
    report = await rebuild(
        projection,
        runtime.read_models[projection.name],
        office.gateway.settings.kafka_bootstrap_servers,
        runtime.dead_letters(),
    )

    assert report.generation >= 2
    after_rebuild = await timeline_rows(office)
    # The same rows (the gateway's own events of the log-ins may have joined meanwhile).
    assert set(before) <= set(after_rebuild)
    assert {r for r in after_rebuild if r[1] == case} == {r for r in before if r[1] == case}
    assert (await office.case(case, anna, limit=500)).json() == full

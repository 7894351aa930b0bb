"""Deal clearance with PostgreSQL and Kafka: risk's answers, published on the risk topic of a
test namespace, reach the ledger's clearance inbox and show on the booking request; approval
answers 409 until the deal is cleared; every step is stored in the case the submission
started; a replayed answer and a rebuilt read model change nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ledger.bootstrap import Ledger
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner
from shared_kernel.kafka import create_producer, events_topic
from shared_kernel.roles import Role
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, read
from .test_ledger_upcasting import rebuild_every_read_model

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def trader_with_request_id(signer: IdentitySigner, request_id: str) -> dict[str, str]:
    """A trader's identity as the gateway signs it for the request ``request_id``."""
    caller = Caller("user:fiona", frozenset({Role.TRADER}), "front", request_id=request_id)
    return {IDENTITY_HEADER: signer.sign(caller, audience="ledger")}


def risk_answer(event_type: str, request_id: str, case: str, **data: Any) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(),
        source="/risk",
        type=f"{event_type}.v1",
        subject=f"deal-{request_id}",
        time=AT,
        data={"request_id": request_id, "counterparty": "ACME", "desk": None, **data},
        stream_type="deal",
        stream_version=1,
        position=1,
        correlation_id=case,
        causation_id=case,
        actor=Actor("system:risk-deal-clearance", "system"),
    )


async def publish(ledger: Ledger, *envelopes: EventEnvelope) -> None:
    settings = ledger.runtime.settings
    producer = create_producer(settings.kafka_bootstrap_servers, "test-risk")
    await producer.start()
    try:
        topic = events_topic("risk", settings.topic_namespace)
        for envelope in envelopes:
            await producer.send_and_wait(
                topic, envelope.to_json_bytes(), key=envelope.subject.encode()
            )
    finally:
        await producer.stop()


async def clearance_of(
    client: httpx.AsyncClient, headers: dict[str, str], request_id: str, status: str
) -> dict[str, Any]:
    """The request once its clearance shows ``status`` (the inbox and projection are async)."""
    deadline = time.monotonic() + 30
    while True:
        answer = await client.get(f"/v1/booking-requests/{request_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["clearance"]["status"] == status or time.monotonic() > deadline:
            assert body["clearance"]["status"] == status, body
            return body
        await asyncio.sleep(0.1)


async def test_a_deal_is_approved_only_once_risk_cleared_it_all_in_its_case(
    ledger_client: httpx.AsyncClient, as_role: Headers, identity_signer: IdentitySigner
) -> None:
    ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
    accountant = as_role("accountant")
    bank = await open_account(ledger_client, accountant, "1200", "asset")
    revenue = await open_account(ledger_client, accountant, "8400", "revenue")
    case = str(uuid.uuid4())
    trader = trader_with_request_id(identity_signer, case)
    submitted = await ledger_client.post(
        "/v1/booking-requests",
        json=entry(bank, revenue, 500_00, metadata={"counterparty": "ACME"}),
        headers=trader,
    )
    assert submitted.status_code == 201, submitted.text
    deal = submitted.json()["id"]
    expense = await ledger_client.post(
        "/v1/booking-requests", json=entry(bank, revenue, 10_00), headers=trader
    )
    waiting = await read(
        ledger_client, trader, f"/v1/booking-requests/{deal}", submitted.json()["position"]
    )
    assert waiting["clearance"] == {
        "status": "awaiting",
        "code": None,
        "reason": None,
        "limit_id": None,
        "shortfall": None,
        "currency": None,
    }
    other = await read(ledger_client, accountant, f"/v1/booking-requests/{expense.json()['id']}", 0)
    assert other["clearance"]["status"] == "not_required"

    early = await ledger_client.post(f"/v1/booking-requests/{deal}/approval", headers=accountant)
    assert (early.status_code, early.json()["code"]) == (409, "AwaitingRiskClearance")

    refusal = risk_answer(
        "risk.DealRefused",
        deal,
        case,
        code="LimitExceeded",
        reason="Limit L-9 (counterparty ACME) has 350.00 EUR headroom; the deal is 150.00 over.",
        limit_id="L-9",
        currency="EUR",
        limit_amount=1_000_00,
        headroom_before=350_00,
        amount=500_00,
        shortfall=150_00,
        at=AT.isoformat(),
    )
    await publish(ledger, refusal)
    refused = await clearance_of(ledger_client, trader, deal, "refused")  # the trader sees why
    assert (refused["clearance"]["code"], refused["clearance"]["limit_id"]) == (
        "LimitExceeded",
        "L-9",
    )
    assert refused["clearance"]["shortfall"] == 150_00
    listed = await ledger_client.get(
        "/v1/booking-requests", params={"clearance": "refused"}, headers=accountant
    )
    assert [r["request_id"] for r in listed.json()["items"]] == [deal]
    turned_down = await ledger_client.post(
        f"/v1/booking-requests/{deal}/approval", headers=accountant
    )
    assert (turned_down.status_code, turned_down.json()["code"]) == (409, "DealRefused")
    detail = turned_down.json()["detail"]
    assert "L-9" in detail and "shortfall 150.00 EUR" in detail

    clearance = risk_answer(
        "risk.DealCleared", deal, case, checks=[], recheck=True, at=AT.isoformat()
    )
    await publish(ledger, clearance, refusal)  # a late refusal: a clearance is final
    cleared = await clearance_of(ledger_client, accountant, deal, "cleared")
    approved = await ledger_client.post(f"/v1/booking-requests/{deal}/approval", headers=accountant)
    assert approved.status_code == 200, approved.text
    await publish(ledger, clearance, refusal)  # replayed: changes nothing

    async with ledger.runtime.engine.connect() as conn:
        request_events = await ledger.runtime.store.read_stream(conn, deal)
        entry_events = await ledger.runtime.store.read_stream(conn, approved.json()["id"])
    assert [e.event_type for e in request_events] == [
        "ledger.BookingRequestSubmitted",
        "ledger.BookingRequestRefused",
        "ledger.BookingRequestCleared",
        "ledger.BookingRequestApproved",
    ]
    assert {e.correlation_id for e in request_events + entry_events} == {case}
    assert request_events[2].causation_id == str(clearance.id)

    final = await read(
        ledger_client, accountant, f"/v1/booking-requests/{deal}", approved.json()["position"]
    )
    assert (final["status"], final["clearance"]["status"]) == ("approved", "cleared")
    assert final["correlation_id"] == case  # the console links the request to its case
    assert final["version"] == cleared["version"] + 1 == 4
    await rebuild_every_read_model(ledger)
    rebuilt = await ledger_client.get(f"/v1/booking-requests/{deal}", headers=accountant)
    assert rebuilt.json() == final


async def test_closing_a_month_waits_for_its_pending_requests(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    bank = await open_account(ledger_client, accountant, "1200", "asset")
    revenue = await open_account(ledger_client, accountant, "8400", "revenue")
    october = entry(bank, revenue, 20_00, booking_date="2026-10-20", metadata={"desk": "FX"})
    pending = await ledger_client.post("/v1/booking-requests", json=october, headers=trader)
    november = entry(bank, revenue, 20_00, booking_date="2026-11-02")
    later = await ledger_client.post("/v1/booking-requests", json=november, headers=trader)
    assert pending.status_code == later.status_code == 201

    held = await ledger_client.post("/v1/periods/2026-10/closing", headers=accountant)
    assert (held.status_code, held.json()["code"]) == (409, "PendingBookingRequests")
    assert pending.json()["id"] in held.json()["detail"]
    assert later.json()["id"] not in held.json()["detail"]

    rejected = await ledger_client.post(
        f"/v1/booking-requests/{pending.json()['id']}/rejection",
        json={"reason": "no limit yet"},
        headers=accountant,
    )
    assert rejected.status_code == 200, rejected.text
    closed = await ledger_client.post("/v1/periods/2026-10/closing", headers=accountant)
    assert closed.status_code == 200, closed.text

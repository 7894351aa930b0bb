"""Deal clearance with a real ledger (in-process, same topic namespace) and a real risk
service: submitted deals are cleared (reserving headroom) or refused (NoActiveLimit,
LimitExceeded: reserving nothing, never breaching), released on rejection and expiry,
re-checked and cleared when a limit is created or raised, posted on approval; every decision
continues the deal's business case; breach measures continue the breach's case; a replay of
the ledger topic from offset zero and a rebuild of the deals' read model change nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from ledger.app.commands import ExpireBookingRequest
from ledger.bootstrap import Ledger, LedgerSettings
from ledger.main import create_app as create_ledger_app
from risk.bootstrap import RiskSettings
from risk.projections.deal_view import DealView
from shared_kernel import schema
from shared_kernel.db import create_engine
from shared_kernel.identity import IdentitySigner
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import CreateDatabase, Headers
from shared_kernel.unit_of_work import CommandContext
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import running_risk
from .limits_ledger import Books, LedgerCaller, ledger_settings_for
from .test_risk_limits_exposures import (
    approved_limit,
    crossing_events,
    eventually,
    exposure_reaches,
    ledger_topic_size,
    replaying_inbox,
    risk_head,
    risk_of,
)

pytestmark = pytest.mark.integration


class Clock:
    """The ledger's clock, moved forward to let a request expire."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
async def ledger_settings(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> LedgerSettings:
    return await ledger_settings_for(
        create_database, kafka_bootstrap, topic_namespace, identity_keys
    )


@contextlib.asynccontextmanager
async def ledger_app(
    settings: LedgerSettings, clock: Callable[[], datetime]
) -> AsyncIterator[tuple[httpx.AsyncClient, Ledger]]:
    app = create_ledger_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ledger", timeout=60
        ) as client:
            yield client, app.state.ledger


async def submit(books: Books, as_ledger: LedgerCaller, amount: int, **metadata: str) -> str:
    """A trader's booking request, each in a case of its own (a fresh request id)."""
    response = await books.client.post(
        "/v1/booking-requests",
        json=books.entry(amount, **metadata),
        headers=as_ledger("trader", "front"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def deal_reaches(
    client: httpx.AsyncClient, headers: dict[str, str], request_id: str, status: str
) -> dict[str, Any]:
    async def reached() -> Any:
        response = await client.get(f"/v1/deals/{request_id}", headers=headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        deal = response.json()
        return deal if deal["status"] == status else None

    found: dict[str, Any] = await eventually(reached, f"deal {request_id} {status}")
    return found


async def stored(engine: AsyncEngine, event_type: str, **data: str) -> list[Any]:
    """Stored events of a type whose data has these values, in order."""
    query = sa.select(schema.events).where(schema.events.c.event_type == event_type)
    for name, value in data.items():
        query = query.where(schema.events.c.data[name].astext == value)
    async with engine.connect() as conn:
        return list((await conn.execute(query.order_by(schema.events.c.position))).all())


async def submission_case(ledger_url: str, request_id: str) -> str:
    engine = create_engine(ledger_url, pool_size=1)
    try:
        [row] = await stored(engine, "ledger.BookingRequestSubmitted", request_id=request_id)
        return str(row.correlation_id)
    finally:
        await engine.dispose()


async def test_deals_cleared_refused_released_rechecked_and_posted_exactly_once(
    risk_settings: RiskSettings,
    ledger_settings: LedgerSettings,
    as_role: Headers,
    identity_signer: IdentitySigner,
    topic_namespace: str,
    kafka_bootstrap: str,
) -> None:
    as_ledger = LedgerCaller(identity_signer)
    officer = as_role("risk-officer", subject="user:anna")
    acme, beta = f"ACME-{uuid4().hex[:6]}", f"BETA-{uuid4().hex[:6]}"
    clock = Clock()
    async with (
        ledger_app(ledger_settings, clock) as (ledger, ledger_service),
        running_risk(risk_settings) as client,
    ):
        risk = risk_of(client)
        engine = risk.runtime.engine
        books = await Books(ledger, as_ledger).open()
        limit_id, _ = await approved_limit(
            client, as_role, dimension="counterparty", counterparty=acme, amount=1000_00
        )

        # A trader's 5,000 against a 1,000 limit: refused, nothing reserved, no breach.
        big = await submit(books, as_ledger, 5000_00, counterparty=acme, desk="FX")
        refused = await deal_reaches(client, officer, big, "refused")
        assert (refused["code"], refused["limit_id"], refused["limit_amount"]) == (
            "LimitExceeded",
            limit_id,
            1000_00,
        )
        assert (refused["headroom_before"], refused["shortfall"]) == (1000_00, 4000_00)
        assert limit_id in refused["reason"] and "4000" in refused["reason"]
        small = await submit(books, as_ledger, 400_00, counterparty=acme, desk="FX")
        cleared = await deal_reaches(client, officer, small, "cleared")
        [check] = cleared["checks"]
        assert (check["limit_id"], check["headroom_before"], check["headroom_after"]) == (
            limit_id,
            1000_00,
            600_00,
        )
        await exposure_reaches(client, officer, limit_id, 0, 400_00)
        # The pre-deal check counts the cleared reservation, not the refused deal.
        for amount, allowed in ((600_00, True), (600_01, False)):
            pre = await client.post(
                "/v1/pre-deal-checks",
                json={"counterparty": acme, "currency": "EUR", "amount": amount},
                headers=as_role("trader", "front"),
            )
            assert pre.status_code == 200, pre.text
            assert pre.json()["allowed"] is allowed, pre.text
        unlimited = await submit(books, as_ledger, 100_00, counterparty=beta)
        no_limit = await deal_reaches(client, officer, unlimited, "refused")
        assert (no_limit["code"], no_limit["limit_id"]) == ("NoActiveLimit", None)
        expense = await submit(books, as_ledger, 100_00)  # no counterparty, no desk
        assert await crossing_events(engine, limit_id) == []

        # The small deal is rejected: its reservation is released.
        await books.reject(small)
        released = await deal_reaches(client, officer, small, "released")
        assert released["outcome"] == "rejected" and released["decision"] == "cleared"
        await exposure_reaches(client, officer, limit_id, 0, 0)

        # The limit is raised to 6,000 (four-eyes): the big deal is re-checked and cleared,
        # in its own case, caused by the approval.
        change = await client.post(
            f"/v1/limits/{limit_id}/change-requests",
            json={"amount": 6000_00, "reason": "client grew"},
            headers=officer,
        )
        assert change.status_code == 200, change.text
        approval = await client.post(
            f"/v1/limits/{limit_id}/approval", headers=as_role("risk-officer", subject="user:b")
        )
        assert approval.status_code == 200, approval.text
        rechecked = await deal_reaches(client, officer, big, "cleared")
        assert rechecked["recheck"] is True
        await exposure_reaches(client, officer, limit_id, 0, 5000_00)
        approved = (await stored(engine, "risk.LimitChangeApproved", limit_id=limit_id))[-1]
        [first_decision] = await stored(engine, "risk.DealRefused", request_id=big)
        [decision] = await stored(engine, "risk.DealCleared", request_id=big)
        case = await submission_case(ledger_settings.database_url, big)
        assert first_decision.correlation_id == case
        assert (decision.correlation_id, decision.causation_id) == (
            case,
            approved.correlation_id,
        )
        assert rechecked["correlation_id"] == case

        # A limit created for the other counterparty clears the deal that had none.
        await approved_limit(client, as_role, dimension="counterparty", counterparty=beta,
                             amount=500_00)  # fmt: skip
        assert (await deal_reaches(client, officer, unlimited, "cleared"))["recheck"] is True
        await books.approve(unlimited)
        posted = await deal_reaches(client, officer, unlimited, "posted")
        assert posted["entry_id"]

        # The big deal expires (the ledger's clock moves past its time): released.
        clock.offset = timedelta(days=4)
        await ledger_service.bus.execute(
            CommandContext.system("ledger-expiry"),
            ledger_service.commands.expire_booking_request,
            ExpireBookingRequest(big),
        )
        expired = await deal_reaches(client, officer, big, "released")
        assert expired["outcome"] == "expired"
        await exposure_reaches(client, officer, limit_id, 0, 0)
        # The cleared reservation (5,000 of 6,000) reached the warning and left it again; no
        # request ever breached.
        crossed = [
            (e["type"], e["cause"], e["cause_id"]) for e in await crossing_events(engine, limit_id)
        ]
        assert crossed == [
            ("LimitWarningReached", "booking_request", big),
            ("LimitBackWithinThreshold", "booking_request_release", big),
        ]

        # A posting breaches the limit; the measures recorded continue the breach's case.
        await books.post(6500_00, counterparty=acme)
        view = await exposure_reaches(client, officer, limit_id, 6500_00, 0)
        assert view["threshold_state"] == "breached"
        breach = (await crossing_events(engine, limit_id))[-1]
        assert breach["type"] == "LimitBreached"
        measures = await client.post(
            f"/v1/limit-breaches/{breach['crossing_id']}/measures",
            json={"measures": "trading suspended"},
            headers=as_role("controller"),
        )
        assert measures.status_code == 200, measures.text
        [breached] = await stored(engine, "risk.LimitBreached", crossing_id=breach["crossing_id"])
        [recorded] = await stored(
            engine, "risk.LimitBreachMeasuresRecorded", breach_id=breach["crossing_id"]
        )
        assert recorded.correlation_id == breached.correlation_id

        # Replaying the ledger topic from offset zero decides nothing again.
        head = await risk_head(engine)
        size = await ledger_topic_size(kafka_bootstrap, topic_namespace)
        async with replaying_inbox(risk, topic_namespace) as replay:

            async def replayed() -> bool:
                return replay.writer.seen >= size

            await eventually(replayed, "the replay of the ledger topic", seconds=60)
            assert replay.writer.handled == 0
        assert await risk_head(engine) == head

        # The deals' read model rebuilt from offset zero answers the same.
        answers = {
            r: (await client.get(f"/v1/deals/{r}", headers=officer)).json()
            for r in (big, small, unlimited)
        }
        await rebuild(
            DealView(topic_namespace),
            risk.runtime.read_models[DealView.name],
            kafka_bootstrap,
            risk.runtime.dead_letters(),
        )
        for request_id, answer in answers.items():
            again = await client.get(f"/v1/deals/{request_id}", headers=officer)
            assert again.json() == answer
        missing = await client.get(f"/v1/deals/{expense}", headers=officer)
        assert missing.status_code == 404, missing.text  # an expense is no deal
        front = await client.get(f"/v1/deals/{big}", headers=as_role("trader", "front"))
        assert front.status_code == 403

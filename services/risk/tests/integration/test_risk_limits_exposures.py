"""Live exposures from a real ledger (in-process, same topic namespace): utilisation from
posted entries, pending booking requests, approvals, rejections and reversals; each crossing
recorded exactly once, naming its cause, across a restart of the risk service and a replay
of the ledger topic from offset zero; a rebuilt read model equals a recomputation from the
ledger's own events; the pre-deal check and breach measures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from ledger.bootstrap import LedgerSettings
from risk.adapters.counted_entries import SqlCountedEntries
from risk.app.exposures import LedgerExposures
from risk.bootstrap import Risk, RiskSettings
from risk.projections.limit_view import LimitView, exposures, limit_crossings
from shared_kernel import schema
from shared_kernel.identity import IdentitySigner
from shared_kernel.inbox import InboxRunner
from shared_kernel.kafka import events_topic, topic_partitions
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import CreateDatabase, Headers
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import running_risk
from .limits_ledger import (
    Books,
    ExposureTotals,
    LedgerCaller,
    ledger_settings_for,
    recompute_exposures,
    running_ledger,
)

pytestmark = pytest.mark.integration

CROSSINGS = ("risk.LimitWarningReached", "risk.LimitBreached", "risk.LimitBackWithinThreshold")


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


@pytest.fixture
def as_ledger(identity_signer: IdentitySigner) -> LedgerCaller:
    return LedgerCaller(identity_signer)


def risk_of(client: httpx.AsyncClient) -> Risk:
    risk: Risk = client.risk  # type: ignore[attr-defined]
    return risk


async def crossing_events(engine: AsyncEngine, limit_id: str) -> list[dict[str, Any]]:
    """The crossing events stored by the risk service for a limit, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(schema.events.c.event_type, schema.events.c.data)
            .where(
                schema.events.c.event_type.in_(CROSSINGS),
                schema.events.c.data["limit_id"].astext == limit_id,
            )
            .order_by(schema.events.c.position)
        )
        return [{"type": t.removeprefix("risk."), **d} for t, d in rows]


async def risk_head(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        row = await conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(schema.events.c.position), 0))
        )
        return int(row.scalar_one())


async def eventually(check: Callable[[], Any], what: str, *, seconds: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def exposure_reaches(
    client: httpx.AsyncClient, headers: dict[str, str], limit_id: str, posted: int, pending: int
) -> dict[str, Any]:
    async def reached() -> Any:
        response = await client.get(f"/v1/limits/{limit_id}", headers=headers)
        if response.status_code == 404:
            return None  # the read model has not applied the limit yet
        assert response.status_code == 200, response.text
        view = response.json()
        exposure = view["exposure"]
        return view if (exposure["posted"], exposure["pending"]) == (posted, pending) else None

    result: dict[str, Any] = await eventually(reached, f"exposure {posted}/{pending}")
    return result


async def approved_limit(
    client: httpx.AsyncClient, as_role: Headers, **body: Any
) -> tuple[str, int]:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    created = await client.post(
        "/v1/limits",
        json={"currency": "EUR", "reason": "client", "warning_threshold": 0.8, **body},
        headers=anna,
    )
    assert created.status_code == 201, created.text
    limit_id = created.json()["id"]
    approved = await client.post(f"/v1/limits/{limit_id}/approval", headers=bert)
    assert approved.status_code == 200, approved.text
    return limit_id, int(approved.json()["position"])


async def stored_exposures(risk: Risk) -> ExposureTotals:
    async with risk.runtime.read_models[LimitView.name].reading() as conn:
        rows = await conn.execute(sa.select(exposures))
        return {
            (r.dimension, r.counterparty, r.desk, r.currency): (int(r.posted), int(r.pending))
            for r in rows
            if (r.posted, r.pending) != (0, 0)
        }


@contextlib.asynccontextmanager
async def replaying_inbox(risk: Risk, namespace: str) -> AsyncIterator[InboxRunner]:
    """The ledger inbox again, in a new consumer group: reads the ledger topic from zero."""
    runtime = risk.runtime
    runner = InboxRunner(
        LedgerExposures(namespace, entries=SqlCountedEntries()),
        "risk",
        runtime.unit_of_work,
        runtime.settings.kafka_bootstrap_servers,
        group_id=f"{namespace}risk.replay-{uuid4().hex[:8]}",
        dead=runtime.dead_letters(),
    )
    task = asyncio.create_task(runner.run(), name="replayed ledger inbox")
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def ledger_topic_size(bootstrap: str, namespace: str) -> int:
    topic = events_topic("ledger", namespace)
    count = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(count)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def test_crossings_once_across_restart_and_replay_and_rebuild_equals_recomputation(
    risk_settings: RiskSettings,
    ledger_settings: LedgerSettings,
    as_role: Headers,
    as_ledger: LedgerCaller,
    topic_namespace: str,
    kafka_bootstrap: str,
) -> None:
    officer = as_role("risk-officer", subject="user:anna")
    acme = f"ACME-{uuid4().hex[:6]}"
    async with running_ledger(ledger_settings) as ledger:
        books = await Books(ledger, as_ledger).open()
        async with running_risk(risk_settings) as risk_client:
            risk = risk_of(risk_client)
            limit_id, _ = await approved_limit(
                risk_client, as_role, dimension="counterparty", counterparty=acme, amount=1000_00
            )
            desk_limit, _ = await approved_limit(
                risk_client, as_role, dimension="desk", desk="FX", amount=100_000_00
            )
            e1 = await books.post(500_00, counterparty=acme, desk="FX")
            await exposure_reaches(risk_client, officer, limit_id, 500_00, 0)
            r1 = await books.submit(350_00, counterparty=acme, desk="FX")  # 85 %: warning
            await exposure_reaches(risk_client, officer, limit_id, 500_00, 350_00)
            e2 = await books.approve(r1)  # pending becomes posted: still 85 %, no crossing
            await exposure_reaches(risk_client, officer, limit_id, 850_00, 0)
            e3 = await books.post(200_00, counterparty=acme)  # 105 %: breach
            await books.post(999_00, desk="rates")  # another desk: not this limit
            await books.post(999_00)  # no counterparty, no desk: counts nowhere
            view = await exposure_reaches(risk_client, officer, limit_id, 1050_00, 0)
            assert view["threshold_state"] == "breached"
            assert view["utilisation"] == pytest.approx(1.05)
            assert e1 and e2

        # While the risk service is down: a reversal, a rejected request, other deals.
        reversal = await books.reverse(e3)  # back to 85 %: below the limit again
        r2 = await books.submit(100_00, counterparty=acme)
        await books.reject(r2)
        await books.post_many([1_00] * 50, counterparty=f"{acme}-other", desk="FX")

        async with running_risk(risk_settings) as risk_client:
            risk = risk_of(risk_client)
            await exposure_reaches(risk_client, officer, limit_id, 850_00, 0)
            e4 = await books.post(300_00, counterparty=acme)  # 115 %: breached again
            view = await exposure_reaches(risk_client, officer, limit_id, 1150_00, 0)
            assert view["threshold_state"] == "breached"
            engine = risk.runtime.engine
            events = await crossing_events(engine, limit_id)
            assert [(e["type"], e.get("threshold"), e["cause"], e["cause_id"]) for e in events] == [
                ("LimitWarningReached", None, "booking_request", r1),
                ("LimitBreached", None, "ledger_entry", e3),
                ("LimitBackWithinThreshold", "limit", "entry_reversal", reversal),
                ("LimitBreached", None, "ledger_entry", e4),
            ]
            assert [e["utilisation_bp"] for e in events] == [8500, 10500, 8500, 11500]
            assert {e["limit_version"] for e in events} == {1}

            # Replaying the whole ledger topic from offset zero decides nothing again.
            head = await risk_head(engine)
            size = await ledger_topic_size(kafka_bootstrap, topic_namespace)
            async with replaying_inbox(risk, topic_namespace) as replay:

                async def replayed() -> bool:
                    return replay.writer.seen >= size

                await eventually(replayed, "the replay of the ledger topic", seconds=60)
                assert replay.writer.handled == 0
            assert await risk_head(engine) == head
            assert await crossing_events(engine, limit_id) == events

            # The pre-deal check says no for the breached counterparty, yes on the desk.
            trader = as_role("trader", "front")
            no = await risk_client.post(
                "/v1/pre-deal-checks",
                json={"counterparty": acme, "currency": "EUR", "amount": 1},
                headers=trader,
            )
            assert no.status_code == 200, no.text
            assert no.json()["allowed"] is False
            [checked] = no.json()["limits"]
            assert (checked["limit_id"], checked["exposure"], checked["headroom"]) == (
                limit_id,
                1150_00,
                -150_00,
            )
            yes = await risk_client.post(
                "/v1/pre-deal-checks",
                json={"desk": "FX", "currency": "EUR", "amount": 1000_00},
                headers=trader,
            )
            assert yes.json()["allowed"] is True, yes.text
            assert [lim["limit_id"] for lim in yes.json()["limits"]] == [desk_limit]

            listed = await risk_client.get(
                "/v1/exposures", params={"counterparty": acme}, headers=officer
            )
            assert listed.status_code == 200, listed.text
            assert sorted(
                (i["dimension"], i["desk"], i["posted"], i["pending"])
                for i in listed.json()["items"]
            ) == [("counterparty", None, 1150_00, 0), ("counterparty_desk", "FX", 850_00, 0)]

            # Measures about the second breach, and the breach report.
            breach_id = events[3]["crossing_id"]
            measures = await risk_client.post(
                f"/v1/limit-breaches/{breach_id}/measures",
                json={"measures": "trading with the counterparty suspended"},
                headers=as_role("controller"),
            )
            assert measures.status_code == 200, measures.text
            front = await risk_client.post(
                f"/v1/limit-breaches/{breach_id}/measures",
                json={"measures": "x"},
                headers=as_role("trader", "front"),
            )
            assert front.status_code == 403
            now = datetime.now(UTC)
            report = await risk_client.get(
                "/v1/reports/breaches",
                params={
                    "from": (now - timedelta(hours=1)).isoformat(),
                    "to": (now + timedelta(hours=1)).isoformat(),
                    "limit_id": limit_id,
                    "min_position": measures.json()["position"],
                    "wait_ms": 10000,
                },
                headers=officer,
            )
            assert report.status_code == 200, report.text
            items = report.json()["items"]
            assert [i["cause_id"] for i in items] == [e3, e4]
            assert [m["measures"] for m in items[1]["measures"]] == [
                "trading with the counterparty suspended"
            ]

            # Rebuild the read model from offset zero: exposures equal a recomputation from
            # the ledger's stored events, and the crossings are the same.
            live = await stored_exposures(risk)
            assert live == await recompute_exposures(ledger_settings.database_url)
            async with risk.runtime.read_models[LimitView.name].reading() as conn:
                crossings_before = sorted(
                    (await conn.execute(sa.select(limit_crossings.c.crossing_id))).scalars()
                )
            await rebuild(
                LimitView(topic_namespace),
                risk.runtime.read_models[LimitView.name],
                kafka_bootstrap,
                risk.runtime.dead_letters(),
            )
            assert await stored_exposures(risk) == await recompute_exposures(
                ledger_settings.database_url
            )
            async with risk.runtime.read_models[LimitView.name].reading() as conn:
                crossings_after = sorted(
                    (await conn.execute(sa.select(limit_crossings.c.crossing_id))).scalars()
                )
            assert crossings_after == crossings_before and len(crossings_after) == 4


async def test_a_limit_cut_below_the_exposure_is_a_breach_caused_by_the_change(
    risk_settings: RiskSettings,
    ledger_settings: LedgerSettings,
    as_role: Headers,
    as_ledger: LedgerCaller,
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    acme = f"ACME-{uuid4().hex[:6]}"
    async with running_ledger(ledger_settings) as ledger, running_risk(risk_settings) as client:
        books = await Books(ledger, as_ledger).open()
        limit_id, _ = await approved_limit(
            client, as_role, dimension="counterparty_desk", counterparty=acme, desk="FX",
            amount=1000_00,
        )  # fmt: skip
        await books.post(600_00, counterparty=acme, desk="FX")
        await books.post(600_00, counterparty=acme, desk="rates")  # other desk: not counted
        await exposure_reaches(client, anna, limit_id, 600_00, 0)
        change = await client.post(
            f"/v1/limits/{limit_id}/change-requests",
            json={"amount": 500_00, "reason": "cut"},
            headers=anna,
        )
        assert change.status_code == 200, change.text
        approved = await client.post(f"/v1/limits/{limit_id}/approval", headers=bert)
        assert approved.status_code == 200, approved.text
        events = await crossing_events(risk_of(client).runtime.engine, limit_id)
        assert [(e["type"], e["cause"], e["limit_version"]) for e in events] == [
            ("LimitWarningReached", "limit_change", 2),
            ("LimitBreached", "limit_change", 2),
        ]
        response = await client.get(
            f"/v1/limits/{limit_id}",
            params={"min_position": approved.json()["position"], "wait_ms": 10000},
            headers=anna,
        )
        view = response.json()
        assert view["threshold_state"] == "breached" and view["current"]["version"] == 2

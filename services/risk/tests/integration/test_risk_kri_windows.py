"""The rolling-window KRIs "SLA breaches in the last 30 days" and "customer satisfaction over
the last 30 days" with PostgreSQL and Kafka: values after SLA breaches and ratings on the
tickets topic, the values falling at the scheduled window roll when the (injected) clock moves
on, and a replay of the tickets topic and a rebuild of the read model changing nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from risk.app.kri_windows import WindowKriInbox
from risk.bootstrap import Risk, RiskSettings
from shared_kernel.envelope import EventEnvelope
from shared_kernel.inbox import InboxWriter
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics, events_topic
from shared_kernel.rebuild import rebuild
from shared_kernel.schema import events
from shared_kernel.testing import Headers

from .conftest import running_risk
from .risk_api import read
from .test_risk_kri_stream import Tickets, head, read_all, wait_until

pytestmark = pytest.mark.integration

SLA = "sla-breaches-30d"
CSAT = "customer-satisfaction-30d"
B = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(tickets: Tickets, name: str, when: datetime, **data: Any) -> EventEnvelope:
    """A tickets event of a new ticket that happened at ``when`` (its time and ``at``)."""
    event = tickets.event(f"T-{tickets.position}", name, at=when.isoformat(), **data)
    return replace(event, time=when)


async def kri_events(risk: Risk, kri_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with risk.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.event_type, events.c.data)
            .where(events.c.stream_id == f"kri:{kri_id}")
            .order_by(events.c.stream_version)
        )
        return [(str(t), dict(d)) for t, d in rows]


async def test_window_kris_measure_on_each_event_fall_at_the_daily_roll_and_replay_nothing(
    risk_settings: RiskSettings, as_role: Headers, kafka_bootstrap: str
) -> None:
    settings = risk_settings.model_copy(
        update={
            "kri_sla_breaches_amber": 2,
            "kri_sla_breaches_red": 3,
            "kri_window_roll_interval_seconds": 0.1,
        }
    )
    topic = events_topic("tickets", settings.topic_namespace)
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = create_producer(kafka_bootstrap, client_id="test-tickets")
    await producer.start()
    tickets = Tickets(producer, topic)
    officer = as_role("risk-officer")
    clock = Clock(B + timedelta(hours=3))
    try:
        sla = {"clock": "resolution", "priority": 2, "target_seconds": 3600}
        rated = {"comment": "", "rated_by": "user:c", "queue_id": "q", "agent": "user:a"}
        breaches = [
            at(tickets, "SlaBreached", B + timedelta(minutes=n), due_at=B.isoformat(), **sla)
            for n in range(3)
        ]
        await tickets.publish(
            *breaches,
            at(tickets, "TicketRated", B, rating=5, **rated),
            at(tickets, "TicketRated", B + timedelta(days=-5), rating=3, **rated),
            at(tickets, "TicketRated", B + timedelta(minutes=5), rating=2, **rated),
            at(tickets, "TicketOpened", B, ticket_type="incident", priority=3),
        )
        async with running_risk(settings, clock=clock) as client:
            risk: Risk = client.risk  # type: ignore[attr-defined]

            async def kri(kri_id: str) -> dict[str, Any]:
                return await read(client, officer, f"/v1/kris/{kri_id}", await head(risk))

            async def measured(kri_id: str, count: int) -> bool:
                found = await client.get(f"/v1/kris/{kri_id}", headers=officer)
                return found.status_code == 200 and found.json()["measurement_count"] >= count

            await wait_until(lambda: measured(SLA, 3), "three breaches")
            await wait_until(lambda: measured(CSAT, 3), "three ratings")
            assert _now(await kri(SLA)) == (3.0, "red", 2.0, 3.0, "higher_is_worse")
            # Each breach's measurement joins the breach's case, caused by the breach.
            assert await measurement_causes(risk, SLA) == [
                (b.correlation_id, str(b.id)) for b in breaches
            ]
            # (5 + 3 + 2) / 3: the rating of 5 days before B is in B's window.
            assert _now(await kri(CSAT)) == (
                pytest.approx(10 / 3),
                "amber",
                4.0,
                3.0,
                "lower_is_worse",
            )

            # 30 days on, B's day has left the window: no breach, and only the older rating.
            clock.now = B + timedelta(days=26)  # the rating of B - 5 days leaves first
            await wait_until(lambda: measured(CSAT, 4), "the roll of day B + 26")
            assert _now(await kri(CSAT))[:2] == (3.5, "amber")
            clock.now = B + timedelta(days=30)
            await wait_until(lambda: measured(SLA, 5), "the roll of day B + 30")
            await wait_until(lambda: measured(CSAT, 5), "the roll of day B + 30")
            assert _now(await kri(SLA))[:2] == (0.0, "green")
            satisfaction = await kri(CSAT)
            assert (satisfaction["value"], satisfaction["status"]) == (None, None)

            listed = await read(client, officer, "/v1/kris", await head(risk))
            by_id = {k["kri_id"]: k for k in listed["items"]}
            assert {SLA, CSAT, "open-critical-incidents"} <= set(by_id)
            assert by_id[SLA]["stream_rule"] == "tickets.sla-breaches-30d"
            history = await read(client, officer, f"/v1/kris/{SLA}/measurements", await head(risk))
            assert [m["value"] for m in history["items"]] == [0.0, 3.0, 3.0, 2.0, 1.0]
            sources = [m["source"] for m in history["items"]]
            assert sources[:2] == ["window-roll", "window-roll"]
            csat_history = await read(
                client, officer, f"/v1/kris/{CSAT}/measurements", await head(risk)
            )
            assert [(m["value"], m["status"]) for m in csat_history["items"][:2]] == [
                (None, None),
                (3.5, "amber"),
            ]
            report = await read(client, officer, "/v1/reports/kri-status", await head(risk))
            unmeasured = next(c for c in report["changes"] if c["kri_id"] == CSAT)
            assert (unmeasured["from_status"], unmeasured["to_status"]) == ("amber", "unmeasured")

            # A replay of the whole tickets topic through both inboxes changes nothing ...
            before = {k: await kri_events(risk, k) for k in (SLA, CSAT)}
            records = await read_all(kafka_bootstrap, topic)
            assert len(records) == 7
            for handler in risk.runtime.inboxes:
                if isinstance(handler, WindowKriInbox):
                    writer = InboxWriter(
                        handler, "risk", risk.runtime.unit_of_work, risk.runtime.dead_letters()
                    )
                    await writer.write(records)
                    assert writer.handled == 0
            # ... nor does a roll that is not due (the same day, again).
            assert await risk.kri_window_roll.sweep_once() == 0
            assert {k: await kri_events(risk, k) for k in (SLA, CSAT)} == before

            # A rebuild of the read model gives the same answers.
            paths = ["/v1/kris", f"/v1/kris/{SLA}/measurements", f"/v1/kris/{CSAT}/measurements"]
            answers = {p: await read(client, officer, p, await head(risk)) for p in paths}
            view = next(p for p in risk.runtime.projections if p.name.startswith("kri_view"))
            await rebuild(
                view,
                risk.runtime.read_models[view.name],
                settings.kafka_bootstrap_servers,
                risk.runtime.dead_letters(),
            )
            assert {p: await read(client, officer, p, await head(risk)) for p in paths} == answers
    finally:
        await producer.stop()


async def measurement_causes(risk: Risk, kri_id: str) -> list[tuple[str, str]]:
    async with risk.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.correlation_id, events.c.causation_id)
            .where(
                events.c.stream_id == f"kri:{kri_id}",
                events.c.event_type == "risk.KriMeasurementRecorded",
            )
            .order_by(events.c.stream_version)
        )
        return [(str(c), str(k)) for c, k in rows]


def _now(kri: dict[str, Any]) -> tuple[Any, ...]:
    return (kri["value"], kri["status"], kri["amber"], kri["red"], kri["direction"])

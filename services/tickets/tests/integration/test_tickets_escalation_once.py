"""SLA warnings and breaches fire exactly once: across repeated and concurrent sweeps, a
restart of the service (and its scheduler), and a rebuild of the read model."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers
from tickets.bootstrap import TicketsSettings

from .conftest import FakeClock, running_tickets
from .tickets_api import create_queue, open_ticket, post, read
from .tickets_runtime import event_counts, service_of, settle, stream_data

pytestmark = pytest.mark.integration

BERLIN = ZoneInfo("Europe/Berlin")
ALARMS = ("tickets.SlaWarningRaised", "tickets.SlaBreached")


async def sweep(client: httpx.AsyncClient) -> int:
    await settle(client)
    return await service_of(client).scheduler.sweep_once()


async def test_warning_and_breach_fire_once_across_restarts_and_rebuilds(
    tickets_settings: TicketsSettings, as_role: Headers, clock: FakeClock
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support")
    async with running_tickets(tickets_settings, clock) as client:
        queue = await create_queue(client, admin, "network", escalation_group="noc-managers")
        # Priority 2 (default policy): first response 4 h, resolution 8 h of business time.
        opened = await open_ticket(client, agent, queue, impact=2, urgency=2)
        ticket_id = opened["id"]
        quiet = await open_ticket(client, agent, queue, impact=4, urgency=4)
        ticket = await read(client, agent, f"/v1/tickets/{ticket_id}", opened["position"])
        assert ticket["priority"] == 2

        clock.advance(timedelta(hours=2))
        assert await sweep(client) == 0

        clock.advance(timedelta(hours=1, minutes=30))  # 3.5 h: past the 75 % warning
        results = await asyncio.gather(*(sweep(client) for _ in range(3)))
        assert sum(results) == 1  # three concurrent sweeps, one warning
        assert await sweep(client) == 0
        counts = await event_counts(client, ticket_id)
        assert (counts["tickets.SlaWarningRaised"], counts["tickets.SlaBreached"]) == (1, 0)

    # A restart: a new service instance (and scheduler) over the same events.
    async with running_tickets(tickets_settings, clock) as client:
        assert await sweep(client) == 0
        clock.advance(timedelta(hours=1))  # 4.5 h: the first response is overdue
        assert await sweep(client) == 1
        await settle(client)
        ticket = await read(client, agent, f"/v1/tickets/{ticket_id}", 0)
        assert ticket["escalated_to"] == "noc-managers"
        assert ticket["priority"] == 1  # raised one step by the breach
        assert ticket["first_response_breached"] is True
        breached = await read(client, agent, "/v1/tickets", 0, sla="breached", queue_id=queue)
        assert [t["ticket_id"] for t in breached["items"]] == [ticket_id]

        clock.advance(timedelta(days=3))  # every clock of both tickets is overdue now
        for _ in range(3):
            await sweep(client)

    async with running_tickets(tickets_settings, clock) as client:
        before = await event_counts(client, ticket_id)
        # A rebuild replays every event into a new read-model generation: no alarm again.
        service = service_of(client)
        await settle(client)
        projection = service.runtime.projections[0]
        await rebuild(
            projection,
            service.runtime.read_models[projection.name],
            tickets_settings.kafka_bootstrap_servers,
            service.runtime.dead_letters(),
        )
        assert await sweep(client) == 0
        assert await event_counts(client, ticket_id) == before

    alarms = [
        (e["type"], e["clock"]) for e in await stream_data(client, ticket_id) if e["type"] in ALARMS
    ]
    assert sorted(alarms) == sorted(
        (kind, clock_name) for kind in ALARMS for clock_name in ("first_response", "resolution")
    )
    quiet_alarms = [e for e in await stream_data(client, quiet["id"]) if e["type"] in ALARMS]
    assert len(quiet_alarms) == 4


async def test_a_pending_ticket_does_not_breach(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    agent = as_role("it-support")
    opened = await open_ticket(tickets_client, agent, impact=1, urgency=1)  # 1 h / 4 h
    path = f"/v1/tickets/{opened['id']}"
    clock.advance(timedelta(minutes=30))
    replied = await post(tickets_client, agent, f"{path}/replies", {"body": "looking"})
    assert replied.status_code == 201
    waiting = await post(
        tickets_client, agent, f"{path}/transitions", {"to": "pending", "reason": "need logs"}
    )
    assert waiting.status_code == 200
    clock.advance(timedelta(hours=6))
    assert await sweep(tickets_client) == 0
    ticket = await read(tickets_client, agent, path, waiting.json()["position"])
    assert ticket["resolution_due_at"] is None  # paused: no deadline
    assert ticket["first_response_due_at"] is None  # responded: stopped

    resumed = await post(
        tickets_client, agent, f"{path}/transitions", {"to": "open", "reason": "logs came"}
    )
    ticket = await read(tickets_client, agent, path, resumed.json()["position"])
    # 30 minutes ran before the pause; 3.5 h of the 4 h remain from the resumption at 15:30
    # Berlin: 2.5 h until closing at 18:00, the last hour from 09:00 on Tuesday.
    assert datetime.fromisoformat(ticket["resolution_due_at"]) == datetime(
        2026, 11, 24, 9, tzinfo=BERLIN
    )
    assert await sweep(tickets_client) == 0
    counts = await event_counts(tickets_client, opened["id"])
    assert counts["tickets.SlaBreached"] == 0


async def test_the_scheduler_runs_in_the_service(
    tickets_settings: TicketsSettings, as_role: Headers, clock: FakeClock
) -> None:
    agent = as_role("it-support")
    async with running_tickets(
        tickets_settings, clock, run_sla_scheduler=True, sla_sweep_interval_seconds=0.05
    ) as client:
        opened = await open_ticket(client, agent, impact=1, urgency=1)
        clock.advance(timedelta(hours=2))  # the first response (1 h) is overdue
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (await event_counts(client, opened["id"]))["tickets.SlaBreached"] == 0:
            assert loop.time() < deadline, "the scheduler raised no breach"
            await asyncio.sleep(0.05)
        history = (await client.get(f"/v1/tickets/{opened['id']}/history", headers=agent)).json()
        breach = next(h for h in history["items"] if h["event_type"] == "tickets.SlaBreached")
        assert breach["actor"] == "system:tickets-sla"
        assert breach["data"]["clock"] == "first_response"

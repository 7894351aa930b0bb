"""A rebuild of the read model reproduces every ticket's deadlines, and they are the ones
the aggregate computes from the same events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers
from tickets.domain import Ticket

from .conftest import FakeClock
from .tickets_api import open_ticket, post
from .tickets_runtime import service_of, settle

pytestmark = pytest.mark.integration

DEADLINES = (
    "first_response_warning_at",
    "first_response_due_at",
    "resolution_warning_at",
    "resolution_due_at",
)


async def deadlines(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    await settle(client)
    page = await client.get("/v1/tickets", params={"limit": 500}, headers=headers)
    assert page.status_code == 200
    return {
        t["ticket_id"]: [t[c] for c in (*DEADLINES, "priority", "status")]
        for t in page.json()["items"]
    }


async def test_a_rebuild_reproduces_every_deadline(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    agent, trader = as_role("it-support"), as_role("trader", "front", subject="user:tina")
    ids = []
    for number in range(12):
        opened = await open_ticket(
            tickets_client, trader, impact=number % 4 + 1, urgency=(number // 4) % 4 + 1
        )
        ids.append(opened["id"])
        clock.advance(timedelta(minutes=47))
    for number, ticket_id in enumerate(ids):
        path = f"/v1/tickets/{ticket_id}"
        clock.advance(timedelta(hours=3, minutes=11))  # across evenings and a weekend
        if number % 3 == 0:
            await post(tickets_client, agent, f"{path}/replies", {"body": "on it"})
        if number % 2 == 0:
            await post(
                tickets_client, agent, f"{path}/transitions", {"to": "pending", "reason": "?"}
            )
            clock.advance(timedelta(hours=5))
            await post(tickets_client, trader, f"{path}/replies", {"body": "here you go"})
        if number % 4 == 1:
            await post(
                tickets_client, agent, f"{path}/classification", {"impact": 1, "reason": "worse"}
            )
        if number % 5 == 0:
            await post(
                tickets_client, agent, f"{path}/transitions", {"to": "resolved", "reason": "ok"}
            )

    live = await deadlines(tickets_client, agent)
    assert set(live) == set(ids)
    assert sum(v is not None for row in live.values() for v in row[:4]) > 20

    service = service_of(tickets_client)
    async with service.runtime.engine.connect() as conn:
        streams = await service.runtime.store.read_streams(conn, ids)
    for ticket_id, envelopes in streams.items():
        ticket = Ticket.load(
            ticket_id, [service.runtime.codec.decode_envelope(e) for e in envelopes]
        )
        assert ticket.sla is not None
        computed = ticket.sla.deadlines()
        row = dict(zip(DEADLINES, live[ticket_id][:4], strict=True))
        for name in DEADLINES:
            value = getattr(computed, name)
            assert row[name] == (value.isoformat().replace("+00:00", "Z") if value else None), (
                ticket_id,
                name,
            )

    projection = service.runtime.projections[0]
    report = await rebuild(
        projection,
        service.runtime.read_models[projection.name],
        service.settings.kafka_bootstrap_servers,
        service.runtime.dead_letters(),
    )
    assert report.generation == 2
    assert await deadlines(tickets_client, agent) == live

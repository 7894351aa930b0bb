"""Upcasting reaches the tickets read model: tickets are opened and worked on as ``.v1``
events, then ``TicketOpened`` moves to ``.v2`` (a new required field) and the read model is
rebuilt from Kafka. Without the upcaster the openings no longer read; with it every ticket
reads as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers
from tickets.bootstrap import Tickets
from tickets.domain.events import TicketOpened

from .tickets_api import open_ticket, post
from .tickets_runtime import service_of, settle

pytestmark = pytest.mark.integration


@dataclass(frozen=True, kw_only=True)
class TicketOpenedV2(TicketOpened):
    """v2: a ticket records the channel it came in by (v1 tickets: the API)."""

    version: ClassVar[int] = 2

    channel: str


def by_api(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "channel": "api"}


async def rebuild_every_read_model(service: Tickets) -> None:
    for projection in service.runtime.projections:
        await rebuild(
            projection,
            service.runtime.read_models[projection.name],
            service.runtime.settings.kafka_bootstrap_servers,
            service.runtime.dead_letters(),
        )


async def tickets_page(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    await settle(client)
    page = await client.get("/v1/tickets", params={"limit": 500}, headers=headers)
    assert page.status_code == 200, page.text
    return page.json()


async def test_v1_events_rebuild_to_the_same_tickets_once_the_class_is_v2(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    agent, trader = as_role("it-support"), as_role("trader", "front", subject="user:tina")
    for number in range(3):
        opened = await open_ticket(tickets_client, trader, impact=number + 1)
        path = f"/v1/tickets/{opened['id']}"
        await post(tickets_client, agent, f"{path}/replies", {"body": "on it"})
    before = await tickets_page(tickets_client, agent)
    assert len(before["items"]) == 3
    service = service_of(tickets_client)
    codec = service.runtime.codec
    assert all(getattr(p, "codec", None) is codec for p in service.runtime.projections)

    # The class is v2, the stored openings v1, and no upcaster: they do not read.
    codec.register(TicketOpenedV2)
    await rebuild_every_read_model(service)
    assert (await tickets_page(tickets_client, agent))["items"] == []

    codec.register_upcaster(TicketOpened.event_type, 1, by_api)
    await rebuild_every_read_model(service)
    assert await tickets_page(tickets_client, agent) == before

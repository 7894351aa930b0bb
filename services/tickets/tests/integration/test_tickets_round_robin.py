"""Round-robin assignment stays balanced when many tickets arrive at once, and skips
members who are unavailable."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from shared_kernel.testing import Headers

from .tickets_api import create_queue, open_ticket, read
from .tickets_runtime import settle

pytestmark = pytest.mark.integration

MEMBERS = [f"user:agent{n}" for n in range(5)]


async def test_50_concurrent_creations_are_spread_evenly(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin, trader = as_role("admin", "none"), as_role("trader", "front")
    queue = await create_queue(tickets_client, admin, "balanced", members=MEMBERS)

    opened = await asyncio.gather(
        *(open_ticket(tickets_client, trader, queue, title=f"Ticket {n}") for n in range(50))
    )

    assert len({o["id"] for o in opened}) == 50
    await settle(tickets_client)
    page = await read(tickets_client, admin, "/v1/tickets", 0, queue_id=queue, limit=100)
    per_member = Counter(t["assignee"] for t in page["items"])
    assert per_member == dict.fromkeys(MEMBERS, 10)


async def test_unavailable_members_are_skipped(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin, trader = as_role("admin", "none"), as_role("trader", "front")
    queue = await create_queue(tickets_client, admin, "skipping", members=MEMBERS[:3])
    away = await tickets_client.put(
        f"/v1/queues/{queue}/members/{MEMBERS[1]}/availability",
        json={"available": False},
        headers=admin,
    )
    assert away.status_code == 200, away.text
    # An agent may change only their own availability.
    other = as_role("it-support", subject=MEMBERS[0])
    refused = await tickets_client.put(
        f"/v1/queues/{queue}/members/{MEMBERS[2]}/availability",
        json={"available": False},
        headers=other,
    )
    assert refused.status_code == 403

    assignees = []
    for n in range(4):
        opened = await open_ticket(tickets_client, trader, queue, title=f"Ticket {n}")
        ticket = await read(
            tickets_client, admin, f"/v1/tickets/{opened['id']}", opened["position"]
        )
        assignees.append(ticket["assignee"])
    assert assignees == [MEMBERS[0], MEMBERS[2], MEMBERS[0], MEMBERS[2]]

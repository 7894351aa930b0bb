"""Helpers that reach into a running tickets service: settle the read model, count events."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from tickets.bootstrap import Tickets


def service_of(client: httpx.AsyncClient) -> Tickets:
    service: Tickets = client.tickets  # type: ignore[attr-defined]
    return service


async def settle(client: httpx.AsyncClient) -> int:
    """Wait until the read model has applied every event stored so far; the head position."""
    service = service_of(client)
    async with service.runtime.engine.connect() as conn:
        head = await service.runtime.store.head(conn)
    assert await service.waiter.wait_for(head, 20), f"read model did not reach {head}"
    return head


async def event_counts(client: httpx.AsyncClient, stream_id: str) -> Counter[str]:
    service = service_of(client)
    async with service.runtime.engine.connect() as conn:
        envelopes = await service.runtime.store.read_stream(conn, stream_id)
    return Counter(e.event_type for e in envelopes)


async def stream_data(client: httpx.AsyncClient, stream_id: str) -> list[dict[str, Any]]:
    service = service_of(client)
    async with service.runtime.engine.connect() as conn:
        envelopes = await service.runtime.store.read_stream(conn, stream_id)
    return [{"type": e.event_type, **e.data} for e in envelopes]

"""A ticket's history, read from its stream in the event store: who, when, what and why."""

from __future__ import annotations

from typing import Any

from shared_kernel.codec import EventCodec
from shared_kernel.errors import NotFound
from shared_kernel.eventstore import EventStore
from sqlalchemy.ext.asyncio import AsyncEngine

INTERNAL_EVENTS = frozenset({"tickets.TicketNoteAdded"})


class TicketHistory:
    def __init__(self, engine: AsyncEngine, store: EventStore, codec: EventCodec) -> None:
        self._engine = engine
        self._store = store
        self._codec = codec

    async def of(self, ticket_id: str, *, include_internal: bool) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            envelopes = await self._store.read_stream(conn, ticket_id)
        if not envelopes or envelopes[0].stream_type != "ticket":
            raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
        return [
            {
                "version": e.stream_version,
                "position": e.position,
                "event_type": e.event_type,
                "at": e.time,
                "actor": e.actor.subject,
                "office": e.actor.office,
                "reason": e.data.get("reason"),
                "correlation_id": e.correlation_id,
                "data": e.data,
            }
            for e in envelopes
            if include_internal or e.event_type not in INTERNAL_EVENTS
        ]

    async def requester_of(self, ticket_id: str) -> str | None:
        """The requester, from the write side (for access checks that cannot wait)."""
        async with self._engine.connect() as conn:
            envelopes = await self._store.read_stream(conn, ticket_id)
        if not envelopes or envelopes[0].stream_type != "ticket":
            return None
        requester = envelopes[0].data.get("requester")
        return str(requester) if requester is not None else None

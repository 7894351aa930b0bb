"""Projections of typed events: every read model reads events through its service's codec.

A ``TypedProjection`` never sees raw JSON. Each envelope of a type it ``reads`` is decoded by
the service's ``EventCodec`` (older versions upcast to the class's current one) and validated;
other types are skipped. An event that does not decode (a field missing or of the wrong type,
a version without an upcaster) fails its batch: the ``ProjectionWriter`` then applies the
events one by one and sends that one to the dead-letter topic, as any poison event.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncConnection

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.projections import Projection


class TypedProjection(Projection):
    """A read-model builder over typed events: declare ``reads`` (the event classes it uses)
    and implement ``apply_events``, a pure function of the events and the current rows."""

    reads: ClassVar[tuple[type[DomainEvent], ...]]

    def __init__(self, codec: EventCodec) -> None:
        missing = [c.event_type for c in self.reads if not codec.knows(c.event_type)]
        if missing:
            raise ValueError(f"{type(self).__name__} reads types its codec lacks: {missing}")
        self.codec = codec
        self._types = frozenset(c.event_type for c in self.reads)

    @abstractmethod
    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        """Apply decoded events, in order (set-based where it pays)."""

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        recorded = self.decode(events)
        if recorded:
            await self.apply_events(conn, recorded)

    def decode(self, events: Sequence[EventEnvelope]) -> list[RecordedEvent]:
        """The events of the types this projection reads, typed; raises ``MalformedEvent``."""
        return self.codec.read_all([e for e in events if e.event_type in self._types])

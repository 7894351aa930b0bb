"""Envelopes of tickets' and queues' events built with the domain, as the event store would
hand them out, for tests that apply them to a read model directly."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from shared_kernel.domain import Aggregate
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from tickets.bootstrap import tickets_codec

# A Monday, 09:00 in Berlin.
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class History:
    """Envelopes in commit order; ``now`` is their time."""

    def __init__(self) -> None:
        self.codec = tickets_codec()
        self.envelopes: list[EventEnvelope] = []
        self.now = T0

    def emit(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            for event in aggregate.pending_events():
                aggregate.version += 1
                self.envelopes.append(
                    EventEnvelope(
                        id=uuid4(),
                        source="/tickets",
                        type=versioned_type(event.event_type, event.version),
                        subject=aggregate.id,
                        time=self.now,
                        data=self.codec.encode(event),
                        stream_type=aggregate.stream_type,
                        stream_version=aggregate.version,
                        position=len(self.envelopes) + 1,
                        correlation_id="c",
                        causation_id="c",
                        actor=Actor("user:agent", "back"),
                    )
                )
            aggregate._pending.clear()

"""Round-robin turns of a queue: which member gets the next new ticket.

A stream of its own per queue (``turns:<queue_id>``), apart from the queue's settings.
Its state is the member who got the last ticket, so it is folded from the stream's last
event alone: loading it stays one row however many tickets the queue has handed out, and the
stream version still serialises concurrent creations (a ticket and its turn are appended in
one commit, so two creations can never take the same turn).
"""

from __future__ import annotations

from shared_kernel.domain import Aggregate, DomainEvent

from tickets.domain.events import QueueRoundRobinAdvanced
from tickets.domain.queue import Queue

STREAM_PREFIX = "turns:"


def turns_stream_id(queue_id: str) -> str:
    return f"{STREAM_PREFIX}{queue_id}"


class RoundRobin(Aggregate):
    stream_type = "queue-turns"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.queue_id = aggregate_id.removeprefix(STREAM_PREFIX)
        self.last_assigned: str | None = None

    @classmethod
    def of(cls, queue_id: str) -> RoundRobin:
        return cls(turns_stream_id(queue_id))

    def next_in_turn(self, queue: Queue) -> str | None:
        """The next available member after the last one served (in membership order),
        skipping the unavailable; None when nobody is available."""
        available = queue.available_members()
        if not available:
            return None
        if self.last_assigned not in queue.members:
            return available[0]
        start = queue.members.index(self.last_assigned) + 1
        ring = queue.members[start:] + queue.members[:start]
        return next(m for m in ring if m in available)

    def hand_out(self, queue: Queue, ticket_id: str) -> str | None:
        """Give a new ticket to the member next in turn; None when the queue does not assign
        automatically or nobody is available."""
        if not queue.auto_assign:
            return None
        member = self.next_in_turn(queue)
        if member is not None:
            self._record(
                QueueRoundRobinAdvanced(queue_id=queue.id, member=member, ticket_id=ticket_id)
            )
        return member

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case QueueRoundRobinAdvanced():
                self.last_assigned = event.member
            case _:
                raise TypeError(f"RoundRobin cannot apply {type(event).__name__}")

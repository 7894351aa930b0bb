"""Building blocks for pure-Python domain models: events and event-sourced aggregates.

Events are frozen dataclasses named in the past tense. Each event class declares its wire
``event_type`` and schema ``version``; the kernel serialises the dataclass fields to JSON.
Aggregates check rules, record events, and rebuild their state by applying events in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event. Subclasses are frozen dataclasses with JSON-friendly fields
    (str, int, bool, UUID, date, datetime, Enum, tuples/lists and nested dataclasses of those)."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


class Aggregate:
    """An event-sourced aggregate: state is the fold of its events.

    ``version`` is the number of events applied so far (0 for a new stream). Commands call
    ``_record`` which applies the event and queues it for saving; ``load`` replays history.
    """

    stream_type: ClassVar[str]

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[DomainEvent] = []

    @classmethod
    def load(cls, aggregate_id: str, history: Iterable[DomainEvent]) -> Self:
        aggregate = cls(aggregate_id)
        for event in history:
            aggregate._apply(event)
            aggregate.version += 1
        return aggregate

    def _record(self, event: DomainEvent) -> None:
        self._apply(event)
        self._pending.append(event)

    def _apply(self, event: DomainEvent) -> None:
        """Change state for one event. Subclasses dispatch on the event class."""
        raise NotImplementedError

    def pending_events(self) -> list[DomainEvent]:
        return list(self._pending)

    @property
    def loaded_version(self) -> int:
        """The stream version the aggregate was loaded at: the expected version when saving."""
        return self.version

    def mark_saved(self) -> None:
        self.version += len(self._pending)
        self._pending.clear()

"""Building blocks for pure-Python domain models: events and event-sourced aggregates.

Events are frozen dataclasses named in the past tense. Each event class declares its wire
``event_type`` and schema ``version``; the kernel serialises the dataclass fields to JSON.
Aggregates check rules, record events, and rebuild their state by applying events in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event. Subclasses are frozen dataclasses with JSON-friendly fields
    (str, int, bool, UUID, date, datetime, Enum, tuples/lists and nested dataclasses of those)."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


@dataclass(frozen=True)
class Cause:
    """Why an event is recorded when it is not simply the command's own request: the business
    case it belongs to (``correlation_id``) and what caused it (``causation_id``, say the id of
    another service's event an inbox reacts to). Stamped on the events recorded inside
    ``caused_by``; the unit of work stores it instead of the command's own correlation."""

    correlation_id: str
    causation_id: str


_CAUSE: ContextVar[Cause | None] = ContextVar("backoffice_cause", default=None)


@contextmanager
def caused_by(cause: Cause | None) -> Iterator[None]:
    """Events recorded by any aggregate inside this block carry ``cause`` (None: the
    command's own correlation). Blocks nest; the innermost wins."""
    token = _CAUSE.set(cause)
    try:
        yield
    finally:
        _CAUSE.reset(token)


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
        self._causes: list[Cause | None] = []

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
        self._causes.append(_CAUSE.get())

    def _apply(self, event: DomainEvent) -> None:
        """Change state for one event. Subclasses dispatch on the event class."""
        raise NotImplementedError

    def pending_events(self) -> list[DomainEvent]:
        return list(self._pending)

    def pending_causes(self) -> list[Cause | None]:
        """The cause of each pending event (``caused_by`` when it was recorded), in order."""
        return list(self._causes)

    def restamp(self, cause_of: Callable[[DomainEvent], Cause | None]) -> None:
        """Give pending events their cause after the fact (for events decided together at
        the end of a batch, each caused by one of its source events); None keeps the cause."""
        self._causes = [cause_of(e) or c for e, c in zip(self._pending, self._causes, strict=True)]

    @property
    def loaded_version(self) -> int:
        """The stream version the aggregate was loaded at: the expected version when saving."""
        return self.version

    def mark_saved(self) -> None:
        self.version += len(self._pending)
        self._pending.clear()
        self._causes.clear()

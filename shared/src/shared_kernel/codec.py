"""Turns domain events (frozen dataclasses) into JSON data and back, with upcasting.

Each service registers its event classes once. Reading an event whose stored version is older
than the class's current version runs the registered upcasters (``v1 -> v2 -> ...``) first, so
old events stay readable forever without rewriting the store.

Every reader of events (aggregates, projections, inboxes) decodes through a codec, so an
upcaster reaches all of them; ``read`` pairs a message's envelope with its typed event and
refuses data of a known type that does not validate (``MalformedEvent``): poison, never
handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from pydantic import TypeAdapter

from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """No event class is registered for a stored type."""


class MalformedEvent(ValueError):
    """An event of a known type whose data does not validate against its class (a field
    missing or of the wrong type), or whose version cannot be read."""


class RecordedEvent(NamedTuple):
    """An event as a reader meets it: the envelope (who, when, which stream, position) and
    the typed domain event, upcast to its class's current version."""

    envelope: EventEnvelope
    event: DomainEvent


class EventCodec:
    """Registry of a service's event classes and upcasters."""

    def __init__(self, event_classes: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in event_classes:
            self.register(cls)

    def register(self, cls: type[DomainEvent]) -> None:
        self._classes[cls.event_type] = cls
        self._adapters[cls.event_type] = TypeAdapter(cls)

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns data of ``from_version`` into data of ``from_version + 1``."""
        self._upcasters[(event_type, from_version)] = upcaster

    def encode(self, event: DomainEvent) -> dict[str, Any]:
        data: dict[str, Any] = self._adapter(event.event_type).dump_python(event, mode="json")
        return data

    def decode(self, event_type: str, version: int, data: dict[str, Any]) -> DomainEvent:
        cls = self._classes.get(event_type)
        if cls is None:
            raise UnknownEventType(event_type)
        if version > cls.version:
            raise UnknownEventType(f"{event_type} v{version}: newer than v{cls.version}")
        while version < cls.version:
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                raise UnknownEventType(f"{event_type} v{version}: no upcaster to v{version + 1}")
            data = upcaster(data)
            version += 1
        event: DomainEvent = self._adapters[event_type].validate_python(data)
        return event

    def decode_envelope(self, envelope: EventEnvelope) -> DomainEvent:
        return self.decode(envelope.event_type, envelope.version, envelope.data)

    def read(self, envelope: EventEnvelope) -> RecordedEvent | None:
        """The envelope with its typed event; None for a type this codec does not know (an
        event its reader does not read). Raises ``MalformedEvent`` for a known type whose
        data does not validate, even after upcasting."""
        if envelope.event_type not in self._classes:
            return None
        try:
            return RecordedEvent(envelope, self.decode_envelope(envelope))
        except (LookupError, TypeError, ValueError) as exc:  # also a failing upcaster
            raise MalformedEvent(f"{envelope.type} {envelope.id}: {exc}") from exc

    def read_all(self, envelopes: Sequence[EventEnvelope]) -> list[RecordedEvent]:
        """``read`` for each envelope, in order, leaving out the types this codec does not know."""
        return [r for r in map(self.read, envelopes) if r is not None]

    def knows(self, event_type: str) -> bool:
        return event_type in self._classes

    def _adapter(self, event_type: str) -> TypeAdapter[Any]:
        try:
            return self._adapters[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

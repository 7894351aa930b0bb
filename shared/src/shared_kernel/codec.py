"""Turns domain events (frozen dataclasses) into JSON data and back, with upcasting.

Each service registers its event classes once. Reading an event whose stored version is older
than the class's current version runs the registered upcasters (``v1 -> v2 -> ...``) first, so
old events stay readable forever without rewriting the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import TypeAdapter

from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """No event class is registered for a stored type."""


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

    def knows(self, event_type: str) -> bool:
        return event_type in self._classes

    def _adapter(self, event_type: str) -> TypeAdapter[Any]:
        try:
            return self._adapters[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

"""The event envelope: CloudEvents 1.0 attributes plus the back office's extensions.

On Kafka an event travels in CloudEvents structured JSON mode (``application/cloudevents+json``):
one JSON object holding the attributes, the extensions and ``data``. Extension names follow the
CloudEvents rule (lower-case letters and digits only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from shared_kernel.domain import Cause

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
# Where the gateway of ``make run`` serves the event schemas (``SCHEMA_BASE_URL`` elsewhere).
DEFAULT_SCHEMA_BASE_URL = "http://127.0.0.1:8000"


class EnvelopeError(ValueError):
    """A message is not a valid back-office CloudEvent."""


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a subject (user or system) acting from an office."""

    subject: str
    office: str  # "front", "back", or "system" for events the services raise themselves

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(subject=f"system:{name}", office="system")


@dataclass(frozen=True)
class EventEnvelope:
    """One stored event with everything needed to audit and route it.

    ``type`` carries the version (``ledger.JournalEntryPosted.v1``); ``subject`` is the aggregate
    id; ``position`` is the global position in the owning service's event store.
    """

    id: UUID
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    stream_type: str
    stream_version: int
    position: int
    correlation_id: str
    causation_id: str
    actor: Actor
    dataschema: str = field(default="")
    # The W3C trace context of the span that stored the event (CloudEvents distributed tracing
    # extension): operational, not business data, so outside the hash chains; "" when none.
    traceparent: str = field(default="")
    tracestate: str = field(default="")

    @property
    def event_type(self) -> str:
        """The type without its version suffix, e.g. ``ledger.JournalEntryPosted``."""
        return self.type.rsplit(".v", 1)[0]

    @property
    def version(self) -> int:
        return int(self.type.rsplit(".v", 1)[1])

    @property
    def cause(self) -> Cause:
        """What an event this one causes carries: this event's case, caused by this event."""
        return Cause(self.correlation_id, str(self.id))

    def to_cloudevent(self) -> dict[str, Any]:
        return {**self.attributes(), "data": self.data}

    def attributes(self) -> dict[str, Any]:
        """The CloudEvents attributes and extensions: everything but ``data``."""
        attributes: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": DATA_CONTENT_TYPE,
            "dataschema": self.dataschema or schema_url(self.type),
            "streamtype": self.stream_type,
            "streamversion": self.stream_version,
            "position": self.position,
            "correlationid": self.correlation_id,
            "causationid": self.causation_id,
            "actor": self.actor.subject,
            "actoroffice": self.actor.office,
        }
        if self.traceparent:
            attributes["traceparent"] = self.traceparent
            if self.tracestate:
                attributes["tracestate"] = self.tracestate
        return attributes

    def to_json_bytes(self, raw_data: str | None = None) -> bytes:
        """Structured-mode JSON. ``raw_data`` is ``data`` already as JSON text (as the event
        store holds it): spliced in as it is, which spares the relay a decode and re-encode."""
        if raw_data is None:
            return json.dumps(self.to_cloudevent(), separators=(",", ":")).encode()
        head = json.dumps(self.attributes(), separators=(",", ":"))
        return f'{head[:-1]},"data":{raw_data}}}'.encode()

    @classmethod
    def from_cloudevent(cls, payload: dict[str, Any]) -> EventEnvelope:
        try:
            if payload["specversion"] != SPEC_VERSION:
                raise EnvelopeError(f"unsupported specversion {payload['specversion']!r}")
            event_type = str(payload["type"])
            if ".v" not in event_type or not event_type.rsplit(".v", 1)[1].isdigit():
                raise EnvelopeError(f"type {event_type!r} carries no version suffix '.vN'")
            data = payload["data"]
            if not isinstance(data, dict):
                raise EnvelopeError("data must be a JSON object")
            return cls(
                id=UUID(str(payload["id"])),
                source=str(payload["source"]),
                type=event_type,
                subject=str(payload["subject"]),
                time=datetime.fromisoformat(str(payload["time"]).replace("Z", "+00:00")),
                data=data,
                stream_type=str(payload["streamtype"]),
                stream_version=int(payload["streamversion"]),
                position=int(payload["position"]),
                correlation_id=str(payload["correlationid"]),
                causation_id=str(payload["causationid"]),
                actor=Actor(subject=str(payload["actor"]), office=str(payload["actoroffice"])),
                dataschema=str(payload.get("dataschema", "")),
                traceparent=str(payload.get("traceparent") or ""),
                tracestate=str(payload.get("tracestate") or ""),
            )
        except EnvelopeError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeError(f"not a valid event envelope: {exc!r}") from exc

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> EventEnvelope:
        # orjson: several times faster than ``json`` on the hot paths (rebuilds, inboxes);
        # it raises its JSONDecodeError (a ValueError) for invalid JSON and invalid UTF-8.
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError(f"not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise EnvelopeError("a CloudEvent must be a JSON object")
        return cls.from_cloudevent(payload)


class _SchemaBase:
    """The base URL of the deployment's schema server (the gateway), one per process: every
    envelope a process writes, whoever builds it (event store, relay, dead-letter notices, the
    gateway's audit), points at the same server, so it is set once, by the runtime, from the
    ``schema_base_url`` setting, rather than threaded through every builder."""

    url = DEFAULT_SCHEMA_BASE_URL


def serve_schemas_from(base_url: str) -> None:
    """Make ``dataschema`` point at the schema server at ``base_url`` (``http(s)://host:port``)."""
    _SchemaBase.url = base_url.rstrip("/")


def schema_path(type_: str) -> str:
    """The path of a versioned type's JSON Schema on the schema server:
    ``/schemas/<owner>/<type>.json``, the owner being the type's prefix (the service that
    produces it, or ``backoffice`` for the kernel's own events)."""
    return f"/schemas/{type_.split('.', 1)[0]}/{type_}.json"


def schema_url(type_: str, base_url: str | None = None) -> str:
    """Where the JSON Schema of a versioned event type is served (the CloudEvent's
    ``dataschema``); ``base_url`` defaults to the process's (``serve_schemas_from``)."""
    return f"{(base_url or _SchemaBase.url).rstrip('/')}{schema_path(type_)}"


def versioned_type(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"

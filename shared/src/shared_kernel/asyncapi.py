"""The AsyncAPI 3.0 document of the back office: every topic, what travels on it, who writes
and who reads it.

Per service (``contracts.PRODUCERS``): its events topic ``<service>.events`` (and the gateway's
``gateway.audit``), keyed by the stream id (the CloudEvent's ``subject``) so that one stream's
events stay in order on one partition; its dead-letter topic ``<service>.dead-letters`` (the
original records a consumer could not handle, any bytes, with ``dlq.*`` headers); and its
``<service>.dead-letter-notices`` (the kernel's ``backoffice.*`` notices, keyed by consumer).
A message is one event type and version in CloudEvents structured mode
(``application/cloudevents+json``): the envelope below, with ``data`` described by the event's
JSON Schema at the schema server (the ``dataschema`` URL). Partitions and retention are the
topics' settings (``kafka.TopicSpec``), as Kafka bindings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared_kernel.contracts import PRODUCERS, Producer, Schema
from shared_kernel.envelope import CONTENT_TYPE, DATA_CONTENT_TYPE, SPEC_VERSION, schema_url
from shared_kernel.kafka import (
    EVENT_TOPIC_CONFIG,
    dead_letter_notices_topic,
    dead_letter_topic,
)
from shared_kernel.roles import Office

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"
NOTICES = "dead-letter-notices"
DEAD_LETTERS = "dead-letters"

_TEXT = {"type": "string"}


def cloudevent_schema() -> Schema:
    """The envelope every message carries (``envelope.EventEnvelope.attributes`` plus
    ``data``), as a JSON Schema that Draft 7 and 2020-12 validators read alike."""
    return {
        "title": "Back-office CloudEvent (structured mode)",
        "description": (
            "A CloudEvents 1.0 event with the back office's extensions. ``type`` carries the "
            "version (``ledger.JournalEntryPosted.v1``); ``subject`` is the stream (aggregate) "
            "id and the Kafka key; ``position`` the event's global position in its service's "
            "store (information, not an offset); ``data`` is described by ``dataschema``."
        ),
        "type": "object",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "streamtype",
            "streamversion",
            "position",
            "correlationid",
            "causationid",
            "actor",
            "actoroffice",
            "data",
        ],
        "properties": {
            "specversion": {"const": SPEC_VERSION},
            "id": {"type": "string", "format": "uuid", "description": "Unique per event."},
            "source": {"type": "string", "description": "The producing service: ``/ledger``."},
            "type": {"type": "string", "pattern": r"^[a-z]+\.[A-Za-z]+\.v[0-9]+$"},
            "subject": {"type": "string", "description": "The stream (aggregate) id."},
            "time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."},
            "datacontenttype": {"const": DATA_CONTENT_TYPE},
            "dataschema": {"type": "string", "format": "uri"},
            "streamtype": {"type": "string"},
            "streamversion": {"type": "integer", "minimum": 0},
            "position": {"type": "integer", "minimum": 0},
            "correlationid": {"type": "string", "description": "The business case."},
            "causationid": {"type": "string", "description": "What caused the event."},
            "actor": {"type": "string", "description": "Who: ``user:anna``, ``system:...``."},
            "actoroffice": {
                # "none": the audit record of a caller not identified; older events' oversight.
                "enum": [*(office.value for office in Office), "none"],
                "description": "The actor's office.",
            },
            "data": {"type": "object"},
            # The CloudEvents distributed-tracing extension (``tracing``): present when the
            # command that caused the event was traced.
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C trace context of the command that caused the event.",
            },
            "tracestate": {"type": "string", "description": "W3C tracestate, if any."},
        },
    }


def asyncapi_document(
    schemas: Mapping[str, Schema],
    *,
    base_url: str,
    partitions: int,
    namespace: str = "",
    kafka_servers: str = "127.0.0.1:9092",
    producers: Sequence[Producer] = PRODUCERS,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for the committed ``schemas`` (versioned type -> schema,
    ``contracts.load_all``): every version, old ones too, since their events stay on the
    topics. ``base_url`` is the schema server's; ``partitions`` of the events topics."""
    topic_of = _topic_suffix_of_each_type(producers)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    services = [p for p in producers if p.service]
    owners = {p.owner for p in producers}

    def message_refs(owner: str, suffix: str) -> dict[str, Any]:
        wanted = [
            t
            for t in sorted(schemas)
            if t.split(".", 1)[0] == owner and topic_of.get(_unversioned(t), "events") == suffix
        ]
        for type_ in wanted:
            messages[type_] = _event_message(type_, schemas[type_], base_url)
        return {t: {"$ref": f"#/components/messages/{t}"} for t in wanted}

    kernel_owners = [p.owner for p in producers if not p.service]
    for producer in services:
        name = producer.owner
        for suffix in producer.topics:
            channels[f"{name}.{suffix}"] = _channel(
                f"{namespace}{name}.{suffix}",
                f"The {name} service's {'events' if suffix == 'events' else suffix + ' records'}.",
                message_refs(name, suffix),
                partitions,
            )
        notices = {}
        for owner in kernel_owners:
            notices.update(message_refs(owner, NOTICES))
        channels[f"{name}.{NOTICES}"] = _channel(
            dead_letter_notices_topic(name, namespace),
            f"What the {name} service's projections and inboxes dead-lettered or recovered.",
            notices,
            1,
        )
        channels[f"{name}.{DEAD_LETTERS}"] = _channel(
            dead_letter_topic(name, namespace),
            f"Records the {name} service could not handle, as they were, for an operator.",
            {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            1,
        )
        messages["DeadLetter"] = _dead_letter_message()
        for suffix in (*producer.topics, NOTICES, DEAD_LETTERS):
            channel = f"{name}.{suffix}"
            operations[f"{name}.send.{suffix}"] = _operation(
                "send", channel, channels[channel], f"The {name} service writes {channel}."
            )
    for producer in services:
        for channel in producer.reads:
            if channel.split(".", 1)[0] not in owners or channel not in channels:
                raise ValueError(f"{producer.owner} reads {channel}, which no producer writes")
            operations[f"{producer.owner}.receive.{channel}"] = _operation(
                "receive", channel, channels[channel], f"The {producer.owner} service reads it."
            )
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Back office events",
            "version": "1",
            "description": (
                "Every Kafka topic of the back office. Messages are CloudEvents in structured "
                "mode; each message's `data` is described by the JSON Schema its `dataschema` "
                "names (served by the gateway at `/schemas`)."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": kafka_servers.split(",")[0],
                "protocol": "kafka",
                "description": "The Kafka cluster (``KAFKA_BOOTSTRAP_SERVERS``).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"CloudEvent": cloudevent_schema()},
            "messages": messages,
        },
    }


def _topic_suffix_of_each_type(producers: Sequence[Producer]) -> dict[str, str]:
    """event type (unversioned) -> the suffix of the topic it travels on."""
    return {
        cls.event_type: suffix
        for producer in producers
        for suffix, classes in producer.events().items()
        for cls in classes
    }


def _unversioned(type_: str) -> str:
    return type_.rsplit(".v", 1)[0]


def _channel(
    address: str, description: str, messages: dict[str, Any], partitions: int
) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": messages,
        "bindings": {
            "kafka": {
                "topic": address,
                "partitions": partitions,
                "topicConfiguration": {
                    "retention.ms": int(EVENT_TOPIC_CONFIG["retention.ms"]),
                    "retention.bytes": int(EVENT_TOPIC_CONFIG["retention.bytes"]),
                    "cleanup.policy": [EVENT_TOPIC_CONFIG["cleanup.policy"]],
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _operation(
    action: str, channel: str, definition: dict[str, Any], description: str
) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "description": description,
        "messages": [
            {"$ref": f"#/channels/{channel}/messages/{name}"} for name in definition["messages"]
        ],
    }


def _event_message(type_: str, schema: Schema, base_url: str) -> dict[str, Any]:
    url = schema_url(type_, base_url)
    description = str(schema.get("description", ""))
    kernel_notice = type_.startswith("backoffice.")
    return {
        "name": type_,
        "title": type_,
        "summary": description.split("\n\n", 1)[0].replace("\n", " ") or type_,
        "description": description or type_,
        "contentType": CONTENT_TYPE,
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": type_},
                        "dataschema": {"const": url},
                        "data": {"$ref": url},
                    },
                },
            ]
        },
        "correlationId": {
            "location": "$message.payload#/correlationid",
            "description": "The business case the event belongs to.",
        },
        "bindings": {
            "kafka": {
                "key": {
                    **_TEXT,
                    "description": "The consumer that dead-lettered (its notices stay in order)."
                    if kernel_notice
                    else "The stream id (the CloudEvent's subject): a stream stays in order.",
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "externalDocs": {"url": url, "description": "The JSON Schema of data"},
    }


def _dead_letter_message() -> dict[str, Any]:
    headers = {
        "dlq.projection": "The consumer (projection or inbox) that could not handle it.",
        "dlq.error": "Why (at most 2,000 characters).",
        "dlq.topic": "Where the record was.",
        "dlq.partition": "Its partition.",
        "dlq.offset": "Its offset.",
    }
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A record a consumer could not handle, as it was (possibly not JSON).",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {k: {**_TEXT, "description": v} for k, v in headers.items()},
            "required": sorted(headers),
        },
        "payload": {"description": "The original record's value, unchanged."},
        "bindings": {
            "kafka": {
                "key": {**_TEXT, "description": "The original record's key."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }

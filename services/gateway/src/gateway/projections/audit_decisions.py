"""The audit read model: every decision of the gateway as a row, searchable by who and when.

It reads the audit topic ``<ns>gateway.audit`` (one record per request, see
``adapters/audit.py``) with the kernel's projection machinery, like the case timeline: Kafka
offsets checkpointed in the rows' transaction, record ids claimed once per generation, rebuilt
beside the live generation by ``python -m gateway rebuild`` and switched to. A row is a pure
function of its record, keyed by the record id, so a replay from offset zero, or a record the
audit publisher sent twice (same id, new offset), changes nothing.

A record is a back-office CloudEvent whose data decodes (through an ``EventCodec``, so that an
upcaster reaches it) as ``AccessDecided``; one that does not is poison and goes to the
gateway's dead-letter topic. Records published before the audit record became such a
CloudEvent (without the envelope's extensions) cannot be read and are dead-lettered too.

Cost: a row per request the gateway answered (about 400 bytes with its index entries) plus the
kernel's applied-record id (about 90 bytes); it grows with the gateway's traffic, as the topic
does. It is a read model, not the record: the topic remains the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec, MalformedEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from shared_kernel.recordsets import insert_new
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.access_decisions import AUDIT_EVENTS, AUDIT_STREAM_TYPE, AccessDecided

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

audit_decisions = sa.Table(
    "audit_decisions",
    metadata,
    sa.Column("record_id", PG_UUID(as_uuid=True), primary_key=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("subject_kind", sa.Text, nullable=False),
    sa.Column("office", sa.Text, nullable=False),
    sa.Column("roles", ARRAY(sa.Text), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("forwarded_client", sa.Text, nullable=True),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("client_request_id", sa.Text, nullable=True),
)
# Newest first, overall and per subject (the two searches an auditor starts with); a request
# id (the gateway's or the client's) names one or two records.
sa.Index(
    "ix_audit_decisions_time",
    audit_decisions.c.time.desc(),
    audit_decisions.c.record_id.desc(),
)
sa.Index(
    "ix_audit_decisions_subject",
    audit_decisions.c.subject,
    audit_decisions.c.time.desc(),
    audit_decisions.c.record_id.desc(),
)
sa.Index("ix_audit_decisions_request", audit_decisions.c.request_id)
sa.Index("ix_audit_decisions_client_request", audit_decisions.c.client_request_id)

#: Longest kept text of a record: an index entry has a limit, and no value of the gateway's
#: own is longer (the middleware cuts paths at 512 characters).
MAX_TEXT = 1000
_INT4 = 2**31 - 1


class AuditDecisions(Projection):
    """Every record of the audit topic as a row."""

    name = "audit_decisions_v1"
    metadata = metadata
    # A record per request: gathered for up to 200 ms, the rows of a busy second are written
    # in a few transactions instead of one per fetch (the search sees them that much later).
    gather_ms = 200

    def __init__(self, topic: str, codec: EventCodec | None = None) -> None:
        self.topics = (topic,)
        self.codec = codec or EventCodec(AUDIT_EVENTS)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    def envelope_of(self, raw: bytes) -> EventEnvelope:
        """Records written before the audit topic carried kernel envelopes (issue 13) are plain
        CloudEvents without stream fields: they are read with the fields an envelope of theirs
        would have, so that a topic kept across the upgrade needs no rewrite."""
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return EventEnvelope.from_json_bytes(raw)  # raises the kernel's EnvelopeError
        if isinstance(payload, dict) and "streamtype" not in payload:
            data = payload.get("data")
            request_id = payload.get("correlationid") or payload.get("id")
            payload = {
                "streamtype": AUDIT_STREAM_TYPE,
                "streamversion": 1,
                "position": 0,
                "causationid": request_id,
                "actor": payload.get("subject", ""),
                "actoroffice": data.get("office", "") if isinstance(data, dict) else "",
                **payload,
            }
        return EventEnvelope.from_cloudevent(payload)

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        # One statement for the batch (a record the publisher sent twice is inserted once).
        await insert_new(conn, audit_decisions, [r for r in map(self.row, events) if r is not None])

    def row(self, envelope: EventEnvelope) -> dict[str, Any] | None:
        """The row of one record, a pure function of it; None for another type of event (the
        topic is the gateway's audit topic only, but a reader skips what it does not read).
        Raises MalformedEvent for a decision whose data does not validate: poison."""
        recorded = self.codec.read(envelope)
        if recorded is None:
            return None
        decided = recorded.event
        if not isinstance(decided, AccessDecided):
            raise MalformedEvent(f"{envelope.type} {envelope.id} is not a decision")
        return {
            "record_id": envelope.id,
            "time": envelope.time,
            "subject": _text(decided.subject),
            "subject_kind": _text(decided.kind),
            "office": _text(decided.office),
            "roles": [_text(role) for role in decided.roles],
            "method": _text(decided.method),
            "route": _text(decided.route),
            "path": _text(decided.path),
            "target": _optional(decided.target),
            "status": max(-_INT4, min(decided.status, _INT4)),
            "outcome": decided.decision,
            "reason": _text(decided.reason),
            "client": _text(decided.client),
            "forwarded_client": _optional(decided.forwarded_client),
            "request_id": _text(decided.request_id),
            "client_request_id": _optional(decided.client_request_id),
        }


def _text(value: str) -> str:
    """PostgreSQL text holds no NUL character; an over-long value is cut."""
    return value.replace("\x00", "")[:MAX_TEXT]


def _optional(value: str | None) -> str | None:
    return None if value is None else _text(value)

"""The KRIs' read model: one row per KRI with its thresholds and current value and status,
the history of its measurements, and its status changes (for the KRI status report).

All events of one KRI sit on one stream, hence one Kafka partition, and arrive in order, so
each event sets the columns it changes. Every value comes from the events themselves (the
status of a measurement is recorded in its event), so a rebuild gives the same rows. Threshold
change requests and their decisions are listed per KRI. The per-ticket facts and the window
entries of stream-fed KRIs are not needed here and are skipped. A cleared value (a window KRI
with nothing to measure) is a history row without value or status, and a status change to
``unmeasured``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from shared_kernel.typed_projection import TypedProjection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from risk.domain import ALL_EVENTS
from risk.domain import kri_events as ev

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

kris = sa.Table(
    "kris",
    metadata,
    sa.Column("kri_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("amber", sa.Double, nullable=False),
    sa.Column("red", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("stream_rule", sa.Text, nullable=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=True),
    sa.Column("value", sa.Double, nullable=True),
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("measurement_id", sa.Text, nullable=True),
    sa.Column("measurement_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("pending_change_id", sa.Text, nullable=True),
    sa.Column("defined_by", sa.Text, nullable=False),
    sa.Column("defined_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_kris_status", "status"),
)

kri_measurements = sa.Table(
    "kri_measurements",
    metadata,
    sa.Column("kri_id", sa.Text, primary_key=True),
    sa.Column("measurement_id", sa.Text, primary_key=True),
    sa.Column("value", sa.Double, nullable=True),  # null: nothing to measure (value cleared)
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=True),
    sa.Column("current", sa.Boolean, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("ix_kri_measurements_history", "kri_id", "measured_at", "position"),
)

kri_status_changes = sa.Table(
    "kri_status_changes",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("kri_id", sa.Text, nullable=False),
    sa.Column("from_status", sa.Text, nullable=True),
    sa.Column("to_status", sa.Text, nullable=False),  # or "unmeasured" (value cleared)
    sa.Column("value", sa.Double, nullable=True),
    sa.Column("measurement_id", sa.Text, nullable=False),
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_kri_status_changes_time", "changed_at"),
    sa.Index("ix_kri_status_changes_kri", "kri_id", "position"),
)

kri_threshold_changes = sa.Table(
    "kri_threshold_changes",
    metadata,
    sa.Column("change_id", sa.Text, primary_key=True),
    sa.Column("kri_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # pending | approved | rejected
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("amber", sa.Double, nullable=False),
    sa.Column("red", sa.Double, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text, nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decision_text", sa.Text, nullable=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("ix_kri_threshold_changes_kri", "kri_id", "position"),
)


class KriView(TypedProjection):
    name = "kri_view_v2"  # a new name (and a rebuild from zero) when the tables change
    metadata = metadata
    reads = (
        ev.KriDefined,
        ev.KriDetailsChanged,
        ev.KriThresholdChangeRequested,
        ev.KriThresholdsChanged,
        ev.KriThresholdChangeRejected,
        ev.KriMeasurementRecorded,
        ev.KriStatusChanged,
        ev.KriValueCleared,
    )

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the risk's event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        for envelope, event in events:
            await _apply(conn, envelope, event)


async def _apply(conn: AsyncConnection, envelope: EventEnvelope, event: DomainEvent) -> None:
    match event:
        case ev.KriDefined():
            await _defined(conn, envelope, event)
        case ev.KriDetailsChanged():
            await _update(
                conn,
                envelope,
                event.kri_id,
                name=event.name,
                description=event.description,
                unit=event.unit,
                owner=event.owner,
            )
        case ev.KriThresholdChangeRequested():
            await _change_requested(conn, envelope, event)
        case ev.KriThresholdsChanged():
            await _decided(
                conn, envelope, event.change_id, "approved", event.approved_by, event.note
            )
            await _update(
                conn,
                envelope,
                event.kri_id,
                direction=event.direction,
                amber=event.amber,
                red=event.red,
                pending_change_id=None,
            )
        case ev.KriThresholdChangeRejected():
            await _decided(
                conn, envelope, event.change_id, "rejected", event.rejected_by, event.reason
            )
            await _update(conn, envelope, event.kri_id, pending_change_id=None)
        case ev.KriMeasurementRecorded():
            await _measured(conn, envelope, event)
        case ev.KriStatusChanged():
            await _status_changed(conn, envelope, event)
        case ev.KriValueCleared():
            await _value_cleared(conn, envelope, event)


def _stamp(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "version": envelope.stream_version,
        "position": envelope.position,
        "updated_at": envelope.time,
    }


async def _update(
    conn: AsyncConnection, envelope: EventEnvelope, kri_id: str, **values: Any
) -> None:
    await conn.execute(
        sa.update(kris).where(kris.c.kri_id == kri_id).values(**values, **_stamp(envelope))
    )


async def _defined(conn: AsyncConnection, envelope: EventEnvelope, event: ev.KriDefined) -> None:
    await conn.execute(
        pg_insert(kris)
        .values(
            kri_id=event.kri_id,
            name=event.name,
            description=event.description,
            unit=event.unit,
            direction=event.direction,
            amber=event.amber,
            red=event.red,
            source=event.source,
            stream_rule=event.stream_rule,
            owner=event.owner,
            defined_by=event.defined_by,
            defined_at=envelope.time,
            **_stamp(envelope),
        )
        .on_conflict_do_nothing()
    )


async def _change_requested(
    conn: AsyncConnection, envelope: EventEnvelope, event: ev.KriThresholdChangeRequested
) -> None:
    await conn.execute(
        pg_insert(kri_threshold_changes)
        .values(
            change_id=event.change_id,
            kri_id=event.kri_id,
            state="pending",
            direction=event.direction,
            amber=event.amber,
            red=event.red,
            reason=event.reason,
            requested_by=event.requested_by,
            requested_at=envelope.time,
            position=envelope.position,
        )
        .on_conflict_do_nothing()
    )
    await _update(conn, envelope, event.kri_id, pending_change_id=event.change_id)


async def _decided(
    conn: AsyncConnection, envelope: EventEnvelope, change_id: str, state: str, by: str, text: str
) -> None:
    await conn.execute(
        sa.update(kri_threshold_changes)
        .where(kri_threshold_changes.c.change_id == change_id)
        .values(state=state, decided_by=by, decided_at=envelope.time, decision_text=text)
    )


async def _measured(
    conn: AsyncConnection, envelope: EventEnvelope, event: ev.KriMeasurementRecorded
) -> None:
    await conn.execute(
        pg_insert(kri_measurements)
        .values(
            kri_id=event.kri_id,
            measurement_id=event.measurement_id,
            value=event.value,
            measured_at=event.measured_at,
            status=event.status,
            current=event.current,
            source=event.source,
            recorded_by=event.recorded_by,
            recorded_at=envelope.time,
            position=envelope.position,
        )
        .on_conflict_do_nothing()
    )
    current: dict[str, Any] = (
        {
            "value": event.value,
            "measured_at": event.measured_at,
            "measurement_id": event.measurement_id,
        }
        if event.current
        else {}
    )
    await _update(
        conn, envelope, event.kri_id, measurement_count=kris.c.measurement_count + 1, **current
    )


async def _status_changed(
    conn: AsyncConnection, envelope: EventEnvelope, event: ev.KriStatusChanged
) -> None:
    await conn.execute(
        pg_insert(kri_status_changes)
        .values(
            position=envelope.position,
            kri_id=event.kri_id,
            from_status=event.from_status,
            to_status=event.to_status,
            value=event.value,
            measurement_id=event.measurement_id,
            measured_at=event.measured_at,
            cause=event.cause,
            changed_at=envelope.time,
        )
        .on_conflict_do_nothing()
    )
    await _update(conn, envelope, event.kri_id, status=event.to_status, status_since=envelope.time)


async def _value_cleared(
    conn: AsyncConnection, envelope: EventEnvelope, event: ev.KriValueCleared
) -> None:
    await conn.execute(
        pg_insert(kri_measurements)
        .values(
            kri_id=event.kri_id,
            measurement_id=event.measurement_id,
            value=None,
            measured_at=event.measured_at,
            status=None,
            current=True,
            source=event.source,
            recorded_by=event.recorded_by,
            recorded_at=envelope.time,
            position=envelope.position,
        )
        .on_conflict_do_nothing()
    )
    await conn.execute(
        pg_insert(kri_status_changes)
        .values(
            position=envelope.position,
            kri_id=event.kri_id,
            from_status=event.from_status,
            to_status="unmeasured",
            value=None,
            measurement_id=event.measurement_id,
            measured_at=event.measured_at,
            cause="no_value",
            changed_at=envelope.time,
        )
        .on_conflict_do_nothing()
    )
    await _update(
        conn,
        envelope,
        event.kri_id,
        value=None,
        status=None,
        measured_at=event.measured_at,
        measurement_id=event.measurement_id,
        measurement_count=kris.c.measurement_count + 1,
        status_since=envelope.time,
    )

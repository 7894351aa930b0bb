"""The KRIs' read model: one row per KRI with its thresholds and current value and status,
the history of its measurements, and its status changes (for the KRI status report).

All events of one KRI sit on one stream, hence one Kafka partition, and arrive in order, so
each event sets the columns it changes. Every value comes from the events themselves (the
status of a measurement is recorded in its event), so a rebuild gives the same rows. Threshold
change requests and their decisions are listed per KRI. The per-ticket facts of stream-fed
KRIs are not needed here and are skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

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
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
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
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("value", sa.Double, nullable=False),
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

Apply = Callable[[AsyncConnection, EventEnvelope], Awaitable[None]]


class KriView(Projection):
    name = "kri_view_v1"  # a new name (and a rebuild from zero) when the tables change
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            await handler(conn, event)

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        for event in events:
            await self.apply(conn, event)


def _stamp(event: EventEnvelope) -> dict[str, Any]:
    return {
        "version": event.stream_version,
        "position": event.position,
        "updated_at": event.time,
    }


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def _defined(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await conn.execute(
        pg_insert(kris)
        .values(
            kri_id=d["kri_id"],
            name=d["name"],
            description=d["description"],
            unit=d["unit"],
            direction=d["direction"],
            amber=d["amber"],
            red=d["red"],
            source=d["source"],
            stream_rule=d.get("stream_rule"),
            owner=d["owner"],
            defined_by=d["defined_by"],
            defined_at=event.time,
            **_stamp(event),
        )
        .on_conflict_do_nothing()
    )


async def _details_changed(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(
            name=d["name"],
            description=d["description"],
            unit=d["unit"],
            owner=d["owner"],
            **_stamp(event),
        )
    )


async def _change_requested(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await conn.execute(
        pg_insert(kri_threshold_changes)
        .values(
            change_id=d["change_id"],
            kri_id=d["kri_id"],
            state="pending",
            direction=d["direction"],
            amber=d["amber"],
            red=d["red"],
            reason=d["reason"],
            requested_by=d["requested_by"],
            requested_at=event.time,
            position=event.position,
        )
        .on_conflict_do_nothing()
    )
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(pending_change_id=d["change_id"], **_stamp(event))
    )


async def _decided(
    conn: AsyncConnection, event: EventEnvelope, state: str, by: str, text: str
) -> None:
    d = event.data
    await conn.execute(
        sa.update(kri_threshold_changes)
        .where(kri_threshold_changes.c.change_id == d["change_id"])
        .values(state=state, decided_by=by, decided_at=event.time, decision_text=text)
    )


async def _thresholds_changed(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await _decided(conn, event, "approved", d["approved_by"], d["note"])
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(
            direction=d["direction"],
            amber=d["amber"],
            red=d["red"],
            pending_change_id=None,
            **_stamp(event),
        )
    )


async def _change_rejected(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await _decided(conn, event, "rejected", d["rejected_by"], d["reason"])
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(pending_change_id=None, **_stamp(event))
    )


async def _measured(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    measured_at = _time(d["measured_at"])
    await conn.execute(
        pg_insert(kri_measurements)
        .values(
            kri_id=d["kri_id"],
            measurement_id=d["measurement_id"],
            value=d["value"],
            measured_at=measured_at,
            status=d["status"],
            current=d["current"],
            source=d["source"],
            recorded_by=d["recorded_by"],
            recorded_at=event.time,
            position=event.position,
        )
        .on_conflict_do_nothing()
    )
    current: dict[str, Any] = (
        {"value": d["value"], "measured_at": measured_at, "measurement_id": d["measurement_id"]}
        if d["current"]
        else {}
    )
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(measurement_count=kris.c.measurement_count + 1, **current, **_stamp(event))
    )


async def _status_changed(conn: AsyncConnection, event: EventEnvelope) -> None:
    d = event.data
    await conn.execute(
        pg_insert(kri_status_changes)
        .values(
            position=event.position,
            kri_id=d["kri_id"],
            from_status=d.get("from_status"),
            to_status=d["to_status"],
            value=d["value"],
            measurement_id=d["measurement_id"],
            measured_at=_time(d["measured_at"]),
            cause=d["cause"],
            changed_at=event.time,
        )
        .on_conflict_do_nothing()
    )
    await conn.execute(
        sa.update(kris)
        .where(kris.c.kri_id == d["kri_id"])
        .values(status=d["to_status"], status_since=event.time, **_stamp(event))
    )


_HANDLERS: dict[str, Apply] = {
    "risk.KriDefined": _defined,
    "risk.KriDetailsChanged": _details_changed,
    "risk.KriThresholdChangeRequested": _change_requested,
    "risk.KriThresholdsChanged": _thresholds_changed,
    "risk.KriThresholdChangeRejected": _change_rejected,
    "risk.KriMeasurementRecorded": _measured,
    "risk.KriStatusChanged": _status_changed,
}

"""The limits' read model: limits with their pending request and every approved version,
exposures per key, each limit's threshold state, the crossings (warnings, breaches, returns
below a threshold) and the measures recorded about breaches.

Facts of one stream arrive in order; facts of different streams (a limit and its exposure,
a breach and its measures) in any order between partitions. So every table is written by the
events of one kind of stream only, and rows that several events set (exposure totals, the
threshold state) keep the values of the event with the highest position. The pre-deal check
reads ``limits`` joined to ``exposures`` by the exposure key in one indexed query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from shared_kernel.typed_projection import TypedProjection
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from risk.domain import ALL_EVENTS
from risk.domain import exposure_events as xe
from risk.domain import limits_events as le
from risk.domain.exposure import ExposureKey
from risk.domain.exposure_events import ThresholdCrossed

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)


def _scope_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("dimension", sa.Text, nullable=False),
        sa.Column("counterparty", sa.Text, nullable=True),
        sa.Column("desk", sa.Text, nullable=True),
        sa.Column("currency", sa.Text, nullable=False),
    ]


limits = sa.Table(
    "limits",
    metadata,
    sa.Column("limit_id", sa.Text, primary_key=True),
    *_scope_columns(),
    sa.Column("exposure_id", sa.Text, nullable=False, index=True),
    # The latest approved version (0: none yet) and its terms.
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=True),
    sa.Column("warning_threshold_bp", sa.Integer, nullable=True),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
    sa.Column("pending_request", JSONB, nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

limit_versions = sa.Table(
    "limit_versions",
    metadata,
    sa.Column("limit_id", sa.Text, primary_key=True),
    sa.Column("limit_version", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("warning_threshold_bp", sa.Integer, nullable=False),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("approved_by", sa.Text, nullable=False),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
)

limit_requests = sa.Table(
    "limit_requests",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("limit_id", sa.Text, nullable=False, index=True),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("terms", JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text, nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decision_reason", sa.Text, nullable=True),
)

exposures = sa.Table(
    "exposures",
    metadata,
    sa.Column("exposure_id", sa.Text, primary_key=True),
    *_scope_columns(),
    sa.Column("posted", sa.BigInteger, nullable=False),
    sa.Column("pending", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

limit_states = sa.Table(
    "limit_states",
    metadata,
    sa.Column("limit_id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

limit_crossings = sa.Table(
    "limit_crossings",
    metadata,
    sa.Column("crossing_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("threshold", sa.Text, nullable=False),
    sa.Column("limit_id", sa.Text, nullable=False, index=True),
    sa.Column("limit_version", sa.Integer, nullable=False),
    sa.Column("exposure_id", sa.Text, nullable=False),
    *_scope_columns(),
    sa.Column("exposure", sa.BigInteger, nullable=False),
    sa.Column("limit_amount", sa.BigInteger, nullable=False),
    sa.Column("warning_threshold_bp", sa.Integer, nullable=False),
    sa.Column("utilisation_bp", sa.BigInteger, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("cause_id", sa.Text, nullable=False),
    # The business case of the crossing (its event's correlation id): measures recorded
    # about a breach continue it.
    sa.Column("correlation_id", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

breach_measures = sa.Table(
    "breach_measures",
    metadata,
    sa.Column("breach_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("limit_id", sa.Text, nullable=False),
    sa.Column("measures", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

_CROSSING_KINDS: dict[type[ThresholdCrossed], str] = {
    xe.LimitWarningReached: "warning_reached",
    xe.LimitBreached: "breached",
    xe.LimitBackWithinThreshold: "back_within_threshold",
}


def _terms(event: le.LimitChangeRequested) -> dict[str, Any]:
    """The requested terms as JSON (times as ISO 8601, as the API shows them)."""
    return {
        "amount": event.amount,
        "warning_threshold_bp": event.warning_threshold_bp,
        "valid_from": _iso(event.valid_from),
        "valid_to": _iso(event.valid_to) if event.valid_to else None,
    }


_TIME = TypeAdapter(datetime)


def _iso(at: datetime) -> str:
    """A time as the event's JSON holds it (what the JSON columns always held)."""
    text: str = _TIME.dump_python(at, mode="json")
    return text


class LimitView(TypedProjection):
    name = "limit_view_v2"  # v2: crossings keep their case
    metadata = metadata
    reads = (
        xe.ExposureChanged,
        *_CROSSING_KINDS,
        le.LimitChangeRequested,
        le.LimitChangeApproved,
        le.LimitChangeRejected,
        le.LimitBreachMeasuresRecorded,
    )

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the risk's event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        latest_exposures: dict[str, dict[str, Any]] = {}
        crossings: list[dict[str, Any]] = []
        for envelope, event in events:
            match event:
                case xe.ExposureChanged():
                    latest_exposures[event.exposure_id] = _exposure_row(envelope, event)
                case ThresholdCrossed():
                    crossings.append(_crossing_row(envelope, event))
                case le.LimitChangeRequested():
                    await _requested(conn, envelope, event)
                case le.LimitChangeApproved():
                    await _approved(conn, envelope, event)
                case le.LimitChangeRejected():
                    await _rejected(conn, envelope, event)
                case le.LimitBreachMeasuresRecorded():
                    await _measures(conn, envelope, event)
        if latest_exposures:
            insert = pg_insert(exposures).values(list(latest_exposures.values()))
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[exposures.c.exposure_id],
                    set_={
                        c: insert.excluded[c]
                        for c in ("posted", "pending", "updated_at", "position")
                    },
                    where=exposures.c.position < insert.excluded.position,
                )
            )
        if crossings:
            await conn.execute(
                pg_insert(limit_crossings).values(crossings).on_conflict_do_nothing()
            )
            latest: dict[str, dict[str, Any]] = {}
            for row in crossings:
                latest[row["limit_id"]] = {
                    "limit_id": row["limit_id"],
                    "state": row["state"],
                    "since": row["at"],
                    "position": row["position"],
                }
            insert = pg_insert(limit_states).values(list(latest.values()))
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[limit_states.c.limit_id],
                    set_={c: insert.excluded[c] for c in ("state", "since", "position")},
                    where=limit_states.c.position < insert.excluded.position,
                )
            )


def _exposure_row(envelope: EventEnvelope, event: xe.ExposureChanged) -> dict[str, Any]:
    return {
        "exposure_id": event.exposure_id,
        "dimension": event.dimension,
        "counterparty": event.counterparty,
        "desk": event.desk,
        "currency": event.currency,
        "posted": event.posted,
        "pending": event.pending,
        "updated_at": event.at,
        "position": envelope.position,
    }


def _crossing_row(envelope: EventEnvelope, event: ThresholdCrossed) -> dict[str, Any]:
    kind = _CROSSING_KINDS[type(event)]
    if isinstance(event, xe.LimitBackWithinThreshold):
        threshold = event.threshold
    else:
        threshold = "warning" if kind == "warning_reached" else "limit"
    return {
        "crossing_id": event.crossing_id,
        "kind": kind,
        "threshold": threshold,
        "limit_id": event.limit_id,
        "limit_version": event.limit_version,
        "exposure_id": event.exposure_id,
        "dimension": event.dimension,
        "counterparty": event.counterparty,
        "desk": event.desk,
        "currency": event.currency,
        "exposure": event.exposure,
        "limit_amount": event.limit_amount,
        "warning_threshold_bp": event.warning_threshold_bp,
        "utilisation_bp": event.utilisation_bp,
        "state": event.state,
        "cause": event.cause,
        "cause_id": event.cause_id,
        "correlation_id": envelope.correlation_id,
        "at": event.at,
        "position": envelope.position,
    }


def _pending(event: le.LimitChangeRequested) -> dict[str, Any]:
    return {
        "request_id": event.request_id,
        "change": event.change,
        **_terms(event),
        "reason": event.reason,
        "requested_by": event.requested_by,
        "requested_at": _iso(event.at),
    }


async def _requested(
    conn: AsyncConnection, envelope: EventEnvelope, event: le.LimitChangeRequested
) -> None:
    await conn.execute(
        pg_insert(limit_requests)
        .values(
            request_id=event.request_id,
            limit_id=event.limit_id,
            change=event.change,
            status="pending",
            terms=_terms(event),
            reason=event.reason,
            requested_by=event.requested_by,
            requested_at=event.at,
        )
        .on_conflict_do_nothing()
    )
    key = ExposureKey(event.dimension, event.counterparty, event.desk, event.currency)
    insert = pg_insert(limits).values(
        limit_id=event.limit_id,
        dimension=event.dimension,
        counterparty=event.counterparty,
        desk=event.desk,
        currency=event.currency,
        exposure_id=key.id,
        current_version=0,
        pending_request=_pending(event),
        requested_at=event.at,
        requested_by=event.requested_by,
        version=envelope.stream_version,
        position=envelope.position,
    )
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[limits.c.limit_id],
            set_={
                "pending_request": insert.excluded.pending_request,
                "version": insert.excluded.version,
                "position": insert.excluded.position,
            },
        )
    )


async def _approved(
    conn: AsyncConnection, envelope: EventEnvelope, event: le.LimitChangeApproved
) -> None:
    await conn.execute(
        pg_insert(limit_versions)
        .values(
            limit_id=event.limit_id,
            limit_version=event.limit_version,
            request_id=event.request_id,
            amount=event.amount,
            warning_threshold_bp=event.warning_threshold_bp,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
            requested_by=event.requested_by,
            approved_by=event.approved_by,
            approved_at=event.at,
        )
        .on_conflict_do_nothing()
    )
    await conn.execute(
        sa.update(limits)
        .where(limits.c.limit_id == event.limit_id)
        .values(
            current_version=event.limit_version,
            amount=event.amount,
            warning_threshold_bp=event.warning_threshold_bp,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
            pending_request=None,
            version=envelope.stream_version,
            position=envelope.position,
        )
    )
    await _decided(conn, event.request_id, "approved", event.approved_by, event.at, None)


async def _rejected(
    conn: AsyncConnection, envelope: EventEnvelope, event: le.LimitChangeRejected
) -> None:
    await conn.execute(
        sa.update(limits)
        .where(limits.c.limit_id == event.limit_id)
        .values(pending_request=None, version=envelope.stream_version, position=envelope.position)
    )
    await _decided(conn, event.request_id, "rejected", event.rejected_by, event.at, event.reason)


async def _decided(
    conn: AsyncConnection,
    request_id: str,
    status: str,
    by: str,
    at: datetime,
    reason: str | None,
) -> None:
    await conn.execute(
        sa.update(limit_requests)
        .where(limit_requests.c.request_id == request_id)
        .values(status=status, decided_by=by, decided_at=at, decision_reason=reason)
    )


async def _measures(
    conn: AsyncConnection, envelope: EventEnvelope, event: le.LimitBreachMeasuresRecorded
) -> None:
    await conn.execute(
        pg_insert(breach_measures)
        .values(
            breach_id=event.breach_id,
            seq=envelope.stream_version,
            limit_id=event.limit_id,
            measures=event.measures,
            recorded_by=event.recorded_by,
            recorded_at=event.at,
        )
        .on_conflict_do_nothing()
    )

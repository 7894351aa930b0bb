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
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from risk.domain.exposure import ExposureKey

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

_CROSSING_KINDS = {
    "risk.LimitWarningReached": "warning_reached",
    "risk.LimitBreached": "breached",
    "risk.LimitBackWithinThreshold": "back_within_threshold",
}


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _terms(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": data["amount"],
        "warning_threshold_bp": data["warning_threshold_bp"],
        "valid_from": data["valid_from"],
        "valid_to": data["valid_to"],
    }


class LimitView(Projection):
    name = "limit_view_v1"
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        latest_exposures: dict[str, dict[str, Any]] = {}
        crossings: list[dict[str, Any]] = []
        for event in events:
            match event.event_type:
                case "risk.ExposureChanged":
                    latest_exposures[event.data["exposure_id"]] = _exposure_row(event)
                case kind if kind in _CROSSING_KINDS:
                    crossings.append(_crossing_row(event))
                case "risk.LimitChangeRequested":
                    await _requested(conn, event)
                case "risk.LimitChangeApproved":
                    await _approved(conn, event)
                case "risk.LimitChangeRejected":
                    await _rejected(conn, event)
                case "risk.LimitBreachMeasuresRecorded":
                    await _measures(conn, event)
                case _:
                    pass
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


def _exposure_row(event: EventEnvelope) -> dict[str, Any]:
    data = event.data
    return {
        "exposure_id": data["exposure_id"],
        "dimension": data["dimension"],
        "counterparty": data["counterparty"],
        "desk": data["desk"],
        "currency": data["currency"],
        "posted": data["posted"],
        "pending": data["pending"],
        "updated_at": _time(data["at"]),
        "position": event.position,
    }


def _crossing_row(event: EventEnvelope) -> dict[str, Any]:
    data = event.data
    kind = _CROSSING_KINDS[event.event_type]
    threshold = data.get("threshold") or ("warning" if kind == "warning_reached" else "limit")
    return {
        "crossing_id": data["crossing_id"],
        "kind": kind,
        "threshold": threshold,
        "limit_id": data["limit_id"],
        "limit_version": data["limit_version"],
        "exposure_id": data["exposure_id"],
        "dimension": data["dimension"],
        "counterparty": data["counterparty"],
        "desk": data["desk"],
        "currency": data["currency"],
        "exposure": data["exposure"],
        "limit_amount": data["limit_amount"],
        "warning_threshold_bp": data["warning_threshold_bp"],
        "utilisation_bp": data["utilisation_bp"],
        "state": data["state"],
        "cause": data["cause"],
        "cause_id": data["cause_id"],
        "at": _time(data["at"]),
        "position": event.position,
    }


def _pending(event: EventEnvelope) -> dict[str, Any]:
    data = event.data
    return {
        "request_id": data["request_id"],
        "change": data["change"],
        **_terms(data),
        "reason": data["reason"],
        "requested_by": data["requested_by"],
        "requested_at": data["at"],
    }


async def _requested(conn: AsyncConnection, event: EventEnvelope) -> None:
    data = event.data
    await conn.execute(
        pg_insert(limit_requests)
        .values(
            request_id=data["request_id"],
            limit_id=data["limit_id"],
            change=data["change"],
            status="pending",
            terms=_terms(data),
            reason=data["reason"],
            requested_by=data["requested_by"],
            requested_at=_time(data["at"]),
        )
        .on_conflict_do_nothing()
    )
    key = ExposureKey(data["dimension"], data["counterparty"], data["desk"], data["currency"])
    insert = pg_insert(limits).values(
        limit_id=data["limit_id"],
        dimension=data["dimension"],
        counterparty=data["counterparty"],
        desk=data["desk"],
        currency=data["currency"],
        exposure_id=key.id,
        current_version=0,
        pending_request=_pending(event),
        requested_at=_time(data["at"]),
        requested_by=data["requested_by"],
        version=event.stream_version,
        position=event.position,
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


async def _approved(conn: AsyncConnection, event: EventEnvelope) -> None:
    data = event.data
    at = _time(data["at"])
    await conn.execute(
        pg_insert(limit_versions)
        .values(
            limit_id=data["limit_id"],
            limit_version=data["limit_version"],
            request_id=data["request_id"],
            amount=data["amount"],
            warning_threshold_bp=data["warning_threshold_bp"],
            valid_from=_time(data["valid_from"]),
            valid_to=_time(data["valid_to"]),
            requested_by=data["requested_by"],
            approved_by=data["approved_by"],
            approved_at=at,
        )
        .on_conflict_do_nothing()
    )
    await conn.execute(
        sa.update(limits)
        .where(limits.c.limit_id == data["limit_id"])
        .values(
            current_version=data["limit_version"],
            amount=data["amount"],
            warning_threshold_bp=data["warning_threshold_bp"],
            valid_from=_time(data["valid_from"]),
            valid_to=_time(data["valid_to"]),
            pending_request=None,
            version=event.stream_version,
            position=event.position,
        )
    )
    await _decided(conn, data["request_id"], "approved", data["approved_by"], at, None)


async def _rejected(conn: AsyncConnection, event: EventEnvelope) -> None:
    data = event.data
    await conn.execute(
        sa.update(limits)
        .where(limits.c.limit_id == data["limit_id"])
        .values(pending_request=None, version=event.stream_version, position=event.position)
    )
    await _decided(
        conn, data["request_id"], "rejected", data["rejected_by"], _time(data["at"]), data["reason"]
    )


async def _decided(
    conn: AsyncConnection,
    request_id: str,
    status: str,
    by: str,
    at: datetime | None,
    reason: str | None,
) -> None:
    await conn.execute(
        sa.update(limit_requests)
        .where(limit_requests.c.request_id == request_id)
        .values(status=status, decided_by=by, decided_at=at, decision_reason=reason)
    )


async def _measures(conn: AsyncConnection, event: EventEnvelope) -> None:
    data = event.data
    await conn.execute(
        pg_insert(breach_measures)
        .values(
            breach_id=data["breach_id"],
            seq=event.stream_version,
            limit_id=data["limit_id"],
            measures=data["measures"],
            recorded_by=data["recorded_by"],
            recorded_at=_time(data["at"]),
        )
        .on_conflict_do_nothing()
    )

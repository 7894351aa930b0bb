"""The deals' read model: the latest clearance decision of each deal (a booking request
naming a counterparty or desk) and where it stands: cleared, refused, released (rejected or
expired) or posted.

Every row is written by the events of one ``DealClearance`` stream, which arrive in order; a
row keeps the values of the event with the highest position, so a redelivered or replayed
event changes nothing and a rebuild from offset zero gives the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from risk.domain.deal_events import DealCheck, DealCleared, DealPosted, DealRefused, DealReleased

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

deals = sa.Table(
    "deals",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("counterparty", sa.Text, nullable=True),
    sa.Column("desk", sa.Text, nullable=True),
    sa.Column("amounts", JSONB, nullable=False),
    # The latest decision: cleared (its checks) or refused (code, reason, the limit).
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("checks", JSONB, nullable=False),
    sa.Column("code", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("limit_id", sa.Text, nullable=True),
    sa.Column("currency", sa.Text, nullable=True),
    sa.Column("limit_amount", sa.BigInteger, nullable=True),
    sa.Column("headroom_before", sa.BigInteger, nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=True),
    sa.Column("shortfall", sa.BigInteger, nullable=True),
    sa.Column("recheck", sa.Boolean, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    # Released or posted: how the request ended (None while it is pending).
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("entry_id", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

_CHECKS = TypeAdapter(tuple[DealCheck, ...])


class DealView(TypedProjection):
    name = "deal_view_v1"
    metadata = metadata
    reads = (DealCleared, DealRefused, DealReleased, DealPosted)

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the risk's event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        for envelope, event in events:
            match event:
                case DealCleared() | DealRefused():
                    await _decided(conn, envelope, event)
                case DealReleased():
                    await _ended(conn, envelope, event, "released", event.outcome)
                case DealPosted():
                    await _ended(conn, envelope, event, "posted", "posted", event.entry_id)


async def _decided(
    conn: AsyncConnection, envelope: EventEnvelope, event: DealCleared | DealRefused
) -> None:
    refused = isinstance(event, DealRefused)
    row: dict[str, Any] = {
        "request_id": event.request_id,
        "status": "refused" if refused else "cleared",
        "counterparty": event.counterparty,
        "desk": event.desk,
        "amounts": dict(event.amounts),
        "decision": "refused" if refused else "cleared",
        "checks": _CHECKS.dump_python(event.checks, mode="json")
        if isinstance(event, DealCleared)
        else [],
        "recheck": event.recheck,
        "decided_at": event.at,
        "updated_at": event.at,
        "correlation_id": envelope.correlation_id,
        "position": envelope.position,
        **{name: None for name in _REFUSAL},
    }
    if isinstance(event, DealRefused):
        row.update({name: getattr(event, name) for name in _REFUSAL})
    insert = pg_insert(deals).values(row)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[deals.c.request_id],
            set_={c: insert.excluded[c] for c in row if c not in ("request_id", "correlation_id")},
            where=deals.c.position < insert.excluded.position,
        )
    )


_REFUSAL = (
    "code",
    "reason",
    "limit_id",
    "currency",
    "limit_amount",
    "headroom_before",
    "amount",
    "shortfall",
)


async def _ended(
    conn: AsyncConnection,
    envelope: EventEnvelope,
    event: DealReleased | DealPosted,
    status: str,
    outcome: str,
    entry_id: str | None = None,
) -> None:
    await conn.execute(
        sa.update(deals)
        .where(deals.c.request_id == event.request_id, deals.c.position < envelope.position)
        .values(
            status=status,
            outcome=outcome,
            entry_id=entry_id,
            updated_at=event.at,
            position=envelope.position,
        )
    )

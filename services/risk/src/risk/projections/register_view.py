"""The register's read model: one row per risk (with its current ratings, review date,
treatment and latest acceptance), its controls and its actions.

All events of one risk sit on one stream, hence one Kafka partition, and arrive in order, so
each event simply sets the columns it changes. The ratings come from the events themselves
(see ``register_events``), never from the current matrix: a rebuild gives the same rows.
Indexed for the heat map (a GROUP BY over the rating columns of open risks), the register
filters, the overdue report and the acceptance-expiry sweeper.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, cast

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
from risk.domain import register_events as ev
from risk.domain.register_events import REGISTER_EVENTS, Assessment

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

risks = sa.Table(
    "risks",
    metadata,
    sa.Column("risk_id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("likelihood", sa.SmallInteger, nullable=False),
    sa.Column("impact", sa.SmallInteger, nullable=False),
    sa.Column("inherent_score", sa.SmallInteger, nullable=False),
    sa.Column("inherent_level", sa.Text, nullable=False),
    sa.Column("residual_likelihood", sa.SmallInteger, nullable=False),
    sa.Column("residual_impact", sa.SmallInteger, nullable=False),
    sa.Column("residual_score", sa.SmallInteger, nullable=False),
    sa.Column("residual_level", sa.Text, nullable=False),
    sa.Column("treatment", sa.Text, nullable=True),
    sa.Column("last_reviewed_on", sa.Date, nullable=False),
    sa.Column("review_due", sa.Date, nullable=False),
    sa.Column("identified_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("identified_by", sa.Text, nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acceptance_id", sa.Text, nullable=True),
    sa.Column("acceptance_status", sa.Text, nullable=True),
    sa.Column("acceptance_reason", sa.Text, nullable=True),
    sa.Column("acceptance_until", sa.Date, nullable=True),
    sa.Column("acceptance_requested_by", sa.Text, nullable=True),
    sa.Column("acceptance_requested_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acceptance_decided_by", sa.Text, nullable=True),
    sa.Column("acceptance_decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acceptance_note", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_risks_inherent_cell", "status", "likelihood", "impact"),
    sa.Index("ix_risks_residual_cell", "status", "residual_likelihood", "residual_impact"),
    sa.Index("ix_risks_category", "category"),
    sa.Index("ix_risks_owner", "owner"),
    sa.Index("ix_risks_review_due", "status", "review_due"),
    sa.Index("ix_risks_acceptance_until", "acceptance_status", "acceptance_until"),
)

risk_controls = sa.Table(
    "risk_controls",
    metadata,
    sa.Column("risk_id", sa.Text, primary_key=True),
    sa.Column("control_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("effectiveness", sa.Text, nullable=False),
    sa.Column("reduces", sa.Text, nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

risk_actions = sa.Table(
    "risk_actions",
    metadata,
    sa.Column("risk_id", sa.Text, primary_key=True),
    sa.Column("action_id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
    sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("completed_by", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_risk_actions_open_due", "done", "due_date"),
)


class _OfRisk(Protocol):
    """Every register event names its risk."""

    risk_id: str


def _ratings(assessment: Assessment, review_due: date) -> dict[str, Any]:
    inherent, residual = assessment.inherent, assessment.residual
    return {
        "likelihood": inherent.likelihood,
        "impact": inherent.impact,
        "inherent_score": inherent.score,
        "inherent_level": inherent.level.value,
        "residual_likelihood": residual.likelihood,
        "residual_impact": residual.impact,
        "residual_score": residual.score,
        "residual_level": residual.level.value,
        "review_due": review_due,
    }


def _risk_changes(event: DomainEvent) -> dict[str, Any]:
    """The columns of the risk row an event sets (besides version, position, updated_at)."""
    match event:
        case ev.RiskDetailsChanged():
            return {
                "title": event.title,
                "description": event.description,
                "category": event.category,
                "owner": event.owner,
            }
        case ev.RiskReassessed():
            return {
                **_ratings(event.assessment, event.review_due),
                "last_reviewed_on": event.at.date(),
            }
        case ev.RiskControlAdded() | ev.RiskControlChanged() | ev.RiskControlRemoved():
            return _ratings(event.assessment, event.review_due)
        case ev.RiskTreatmentSet():
            return {"treatment": event.treatment}
        case ev.RiskReviewed():
            return {"review_due": event.review_due, "last_reviewed_on": event.at.date()}
        case ev.RiskClosed():
            return {"status": "closed", "closed_at": event.at}
        case ev.RiskAcceptanceRequested():
            return {
                "acceptance_id": event.acceptance_id,
                "acceptance_status": "requested",
                "acceptance_reason": event.reason,
                "acceptance_until": event.until,
                "acceptance_requested_by": event.by,
                "acceptance_requested_at": event.at,
                "acceptance_decided_by": None,
                "acceptance_decided_at": None,
                "acceptance_note": None,
            }
        case ev.RiskAcceptanceApproved():
            return {
                "acceptance_status": "approved",
                "acceptance_decided_by": event.by,
                "acceptance_decided_at": event.at,
                "acceptance_note": event.note,
            }
        case ev.RiskAcceptanceRejected():
            return {
                "acceptance_status": "rejected",
                "acceptance_decided_by": event.by,
                "acceptance_decided_at": event.at,
                "acceptance_note": event.reason,
            }
        case ev.RiskAcceptanceExpired():
            return {"acceptance_status": "expired", "review_due": event.review_due}
    return {}  # actions: their own table only


def _stamp(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "version": envelope.stream_version,
        "position": envelope.position,
        "updated_at": envelope.time,
    }


def _identified_row(envelope: EventEnvelope, event: ev.RiskIdentified) -> dict[str, Any]:
    return {
        "risk_id": event.risk_id,
        "title": event.title,
        "description": event.description,
        "category": event.category,
        "owner": event.owner,
        "status": "open",
        "treatment": None,
        **_ratings(event.assessment, event.review_due),
        "last_reviewed_on": event.at.date(),
        "identified_at": event.at,
        "identified_by": event.by,
        **_stamp(envelope),
    }


# Rows per INSERT: the driver allows 32,767 parameters per statement (32 columns per row).
INSERT_CHUNK = 500


async def _insert_risks(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        await conn.execute(pg_insert(risks).values(chunk).on_conflict_do_nothing())


class RegisterView(TypedProjection):
    name = "register_view_v1"
    metadata = metadata
    reads = REGISTER_EVENTS

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the risk's event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        """Runs of identified risks become one multi-row insert (what a bulk load or a
        rebuild mostly meets); every other event is applied in order after them."""
        identified: list[dict[str, Any]] = []
        for envelope, event in events:
            if isinstance(event, ev.RiskIdentified):
                identified.append(_identified_row(envelope, event))
                continue
            if identified:
                await _insert_risks(conn, identified)
                identified = []
            await self._changed(conn, envelope, event)
        if identified:
            await _insert_risks(conn, identified)

    async def _changed(
        self, conn: AsyncConnection, envelope: EventEnvelope, event: DomainEvent
    ) -> None:
        await conn.execute(
            risks.update()
            .where(
                risks.c.risk_id == cast(_OfRisk, event).risk_id,
                risks.c.version < envelope.stream_version,
            )
            .values(**_risk_changes(event), **_stamp(envelope))
        )
        await self._children(conn, event)

    async def _children(self, conn: AsyncConnection, event: DomainEvent) -> None:
        match event:
            case ev.RiskControlAdded() | ev.RiskControlChanged():
                values = {
                    "risk_id": event.risk_id,
                    "control_id": event.control_id,
                    "name": event.name,
                    "description": event.description,
                    "effectiveness": event.effectiveness.value,
                    "reduces": event.reduces.value,
                    "added_at": event.at,
                    "changed_at": event.at,
                }
                statement = pg_insert(risk_controls).values(values)
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["risk_id", "control_id"],
                        set_={
                            k: statement.excluded[k]
                            for k in (
                                "name",
                                "description",
                                "effectiveness",
                                "reduces",
                                "changed_at",
                            )
                        },
                    )
                )
            case ev.RiskControlRemoved():
                await conn.execute(
                    risk_controls.delete().where(
                        risk_controls.c.risk_id == event.risk_id,
                        risk_controls.c.control_id == event.control_id,
                    )
                )
            case ev.RiskActionPlanned():
                await conn.execute(
                    pg_insert(risk_actions)
                    .values(
                        risk_id=event.risk_id,
                        action_id=event.action_id,
                        title=event.title,
                        owner=event.owner,
                        due_date=event.due_date,
                        done=False,
                        planned_at=event.at,
                    )
                    .on_conflict_do_nothing()
                )
            case ev.RiskActionChanged():
                await conn.execute(
                    risk_actions.update()
                    .where(
                        risk_actions.c.risk_id == event.risk_id,
                        risk_actions.c.action_id == event.action_id,
                    )
                    .values(title=event.title, owner=event.owner, due_date=event.due_date)
                )
            case ev.RiskActionCompleted():
                await conn.execute(
                    risk_actions.update()
                    .where(
                        risk_actions.c.risk_id == event.risk_id,
                        risk_actions.c.action_id == event.action_id,
                    )
                    .values(
                        done=True, completed_at=event.at, completed_by=event.by, note=event.note
                    )
                )

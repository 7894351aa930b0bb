"""The register's read model: one row per risk (with its current ratings, review date,
treatment and latest acceptance), its controls and its actions.

All events of one risk sit on one stream, hence one Kafka partition, and arrive in order, so
each event simply sets the columns it changes. The ratings come from the events themselves
(see ``register_events``), never from the current matrix: a rebuild gives the same rows.
Indexed for the heat map (a GROUP BY over the rating columns of open risks), the register
filters, the overdue report and the acceptance-expiry sweeper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

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


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _ratings(data: dict[str, Any]) -> dict[str, Any]:
    inherent = data["assessment"]["inherent"]
    residual = data["assessment"]["residual"]
    return {
        "likelihood": inherent["likelihood"],
        "impact": inherent["impact"],
        "inherent_score": inherent["score"],
        "inherent_level": inherent["level"],
        "residual_likelihood": residual["likelihood"],
        "residual_impact": residual["impact"],
        "residual_score": residual["score"],
        "residual_level": residual["level"],
        "review_due": _day(data["review_due"]),
    }


Changes = Callable[[dict[str, Any]], dict[str, Any]]

# Event type -> the columns of the risk row it sets (besides version, position, updated_at).
_RISK_CHANGES: dict[str, Changes] = {
    "risk.RiskDetailsChanged": lambda d: {
        "title": d["title"],
        "description": d["description"],
        "category": d["category"],
        "owner": d["owner"],
    },
    "risk.RiskReassessed": lambda d: {**_ratings(d), "last_reviewed_on": _at(d["at"]).date()},
    "risk.RiskControlAdded": _ratings,
    "risk.RiskControlChanged": _ratings,
    "risk.RiskControlRemoved": _ratings,
    "risk.RiskTreatmentSet": lambda d: {"treatment": d["treatment"]},
    "risk.RiskActionPlanned": lambda d: {},
    "risk.RiskActionChanged": lambda d: {},
    "risk.RiskActionCompleted": lambda d: {},
    "risk.RiskReviewed": lambda d: {
        "review_due": _day(d["review_due"]),
        "last_reviewed_on": _at(d["at"]).date(),
    },
    "risk.RiskClosed": lambda d: {"status": "closed", "closed_at": _at(d["at"])},
    "risk.RiskAcceptanceRequested": lambda d: {
        "acceptance_id": d["acceptance_id"],
        "acceptance_status": "requested",
        "acceptance_reason": d["reason"],
        "acceptance_until": _day(d["until"]),
        "acceptance_requested_by": d["by"],
        "acceptance_requested_at": _at(d["at"]),
        "acceptance_decided_by": None,
        "acceptance_decided_at": None,
        "acceptance_note": None,
    },
    "risk.RiskAcceptanceApproved": lambda d: {
        "acceptance_status": "approved",
        "acceptance_decided_by": d["by"],
        "acceptance_decided_at": _at(d["at"]),
        "acceptance_note": d["note"],
    },
    "risk.RiskAcceptanceRejected": lambda d: {
        "acceptance_status": "rejected",
        "acceptance_decided_by": d["by"],
        "acceptance_decided_at": _at(d["at"]),
        "acceptance_note": d["reason"],
    },
    "risk.RiskAcceptanceExpired": lambda d: {
        "acceptance_status": "expired",
        "review_due": _day(d["review_due"]),
    },
}


IDENTIFIED = "risk.RiskIdentified"


def _stamp(event: EventEnvelope) -> dict[str, Any]:
    return {"version": event.stream_version, "position": event.position, "updated_at": event.time}


def _identified_row(event: EventEnvelope) -> dict[str, Any]:
    data = event.data
    return {
        "risk_id": data["risk_id"],
        "title": data["title"],
        "description": data["description"],
        "category": data["category"],
        "owner": data["owner"],
        "status": "open",
        "treatment": None,
        **_ratings(data),
        "last_reviewed_on": _at(data["at"]).date(),
        "identified_at": _at(data["at"]),
        "identified_by": data["by"],
        **_stamp(event),
    }


# Rows per INSERT: the driver allows 32,767 parameters per statement (32 columns per row).
INSERT_CHUNK = 500


async def _insert_risks(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        await conn.execute(pg_insert(risks).values(chunk).on_conflict_do_nothing())


class RegisterView(Projection):
    name = "register_view_v1"
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("risk", topic_namespace),)

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        """Runs of identified risks become one multi-row insert (what a bulk load or a
        rebuild mostly meets); every other event is applied in order after them."""
        identified: list[dict[str, Any]] = []
        for event in events:
            if event.event_type == IDENTIFIED:
                identified.append(_identified_row(event))
                continue
            if identified:
                await _insert_risks(conn, identified)
                identified = []
            await self.apply(conn, event)
        if identified:
            await _insert_risks(conn, identified)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        if event.event_type == IDENTIFIED:
            await _insert_risks(conn, [_identified_row(event)])
            return
        changes = _RISK_CHANGES.get(event.event_type)
        if changes is None:
            return  # not a register event (limits, KRIs)
        data = event.data
        await conn.execute(
            risks.update()
            .where(risks.c.risk_id == data["risk_id"], risks.c.version < event.stream_version)
            .values(**changes(data), **_stamp(event))
        )
        await self._children(conn, event.event_type, data)

    async def _children(self, conn: AsyncConnection, event_type: str, data: dict[str, Any]) -> None:
        at = _at(data["at"])
        if event_type in ("risk.RiskControlAdded", "risk.RiskControlChanged"):
            values = {
                "risk_id": data["risk_id"],
                "control_id": data["control_id"],
                "name": data["name"],
                "description": data["description"],
                "effectiveness": data["effectiveness"],
                "reduces": data["reduces"],
                "added_at": at,
                "changed_at": at,
            }
            statement = pg_insert(risk_controls).values(values)
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["risk_id", "control_id"],
                    set_={
                        k: statement.excluded[k]
                        for k in ("name", "description", "effectiveness", "reduces", "changed_at")
                    },
                )
            )
        elif event_type == "risk.RiskControlRemoved":
            await conn.execute(
                risk_controls.delete().where(
                    risk_controls.c.risk_id == data["risk_id"],
                    risk_controls.c.control_id == data["control_id"],
                )
            )
        elif event_type == "risk.RiskActionPlanned":
            await conn.execute(
                pg_insert(risk_actions)
                .values(
                    risk_id=data["risk_id"],
                    action_id=data["action_id"],
                    title=data["title"],
                    owner=data["owner"],
                    due_date=_day(data["due_date"]),
                    done=False,
                    planned_at=at,
                )
                .on_conflict_do_nothing()
            )
        elif event_type == "risk.RiskActionChanged":
            await conn.execute(
                risk_actions.update()
                .where(
                    risk_actions.c.risk_id == data["risk_id"],
                    risk_actions.c.action_id == data["action_id"],
                )
                .values(title=data["title"], owner=data["owner"], due_date=_day(data["due_date"]))
            )
        elif event_type == "risk.RiskActionCompleted":
            await conn.execute(
                risk_actions.update()
                .where(
                    risk_actions.c.risk_id == data["risk_id"],
                    risk_actions.c.action_id == data["action_id"],
                )
                .values(done=True, completed_at=at, completed_by=data["by"], note=data["note"])
            )

"""Reads of the register: from the read model (lists, details, reports) and, for a risk's
history, from its stream in the event store (exact, whatever the read model's lag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import NotFound
from shared_kernel.eventstore import EventStore
from shared_kernel.readmodel import ReadModelStore
from sqlalchemy.ext.asyncio import AsyncEngine

from risk.domain.scoring import SCALE, ScoringMatrix
from risk.projections.register_view import risk_actions, risk_controls, risks

MAX_PAGE = 200
OPEN_ACCEPTANCE = ("requested", "approved")


@dataclass(frozen=True)
class RegisterFilter:
    category: str | None = None
    owner: str | None = None
    level: str | None = None  # residual level
    inherent_level: str | None = None
    status: str | None = "open"  # None: open and closed
    # The "overdue" filter: only risks whose review, or one of whose open actions, was due
    # before this day.
    overdue_on: date | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (risks.c.category, self.category),
            (risks.c.owner, self.owner),
            (risks.c.residual_level, self.level),
            (risks.c.inherent_level, self.inherent_level),
            (risks.c.status, self.status),
        ):
            if value is not None:
                found.append(column == value)
        if self.overdue_on is not None:
            action_due = (
                sa.select(risk_actions.c.action_id)
                .where(
                    risk_actions.c.risk_id == risks.c.risk_id,
                    risk_actions.c.done.is_(False),
                    risk_actions.c.due_date < self.overdue_on,
                )
                .exists()
            )
            found.append(sa.or_(risks.c.review_due < self.overdue_on, action_due))
        return found


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def utc_day(at: datetime) -> date:
    """The UTC calendar day of ``at``; a time without an offset is taken as UTC."""
    if at.tzinfo is None:
        return at.date()
    return at.astimezone(UTC).date()


def _overdue_actions(day: date) -> sa.ScalarSelect[int]:
    """Per risk row: how many of its open actions were due before ``day``."""
    return (
        sa.select(sa.func.count())
        .where(
            risk_actions.c.risk_id == risks.c.risk_id,
            risk_actions.c.done.is_(False),
            risk_actions.c.due_date < day,
        )
        .scalar_subquery()
    )


def _acceptance(row: Any) -> dict[str, Any] | None:
    """The risk's latest acceptance (requested, decided or expired), or None if never asked."""
    if row.acceptance_id is None:
        return None
    return {
        "acceptance_id": row.acceptance_id,
        "status": row.acceptance_status,
        "reason": row.acceptance_reason,
        "until": row.acceptance_until,
        "requested_by": row.acceptance_requested_by,
        "requested_at": row.acceptance_requested_at,
        "decided_by": row.acceptance_decided_by,
        "decided_at": row.acceptance_decided_at,
        "note": row.acceptance_note,
    }


def _summary(row: Any, day: date) -> dict[str, Any]:
    """A risk row as the API shows it, flagged against ``day``: an open risk's review or
    action is overdue when its date is before that day."""
    is_open = row.status == "open"
    return {
        "risk_id": row.risk_id,
        "title": row.title,
        "category": row.category,
        "owner": row.owner,
        "status": row.status,
        "inherent": {
            "likelihood": row.likelihood,
            "impact": row.impact,
            "score": row.inherent_score,
            "level": row.inherent_level,
        },
        "residual": {
            "likelihood": row.residual_likelihood,
            "impact": row.residual_impact,
            "score": row.residual_score,
            "level": row.residual_level,
        },
        "treatment": row.treatment,
        "last_reviewed_on": row.last_reviewed_on,
        "review_due": row.review_due,
        "acceptance_status": row.acceptance_status,
        "acceptance": _acceptance(row),
        "review_overdue": is_open and row.review_due < day,
        "overdue_actions": row.overdue_actions if is_open else 0,
        "version": row.version,
        "position": row.position,
    }


class RegisterQueries:
    def __init__(
        self,
        read_model: ReadModelStore,
        engine: AsyncEngine,
        store: EventStore,
        matrix: ScoringMatrix | None = None,
    ) -> None:
        self._read_model = read_model
        self._engine = engine
        self._store = store
        self._matrix = matrix or ScoringMatrix()

    async def risks(
        self, where: RegisterFilter, cursor: str | None, limit: int, as_of: datetime
    ) -> Page:
        """Risks in id order (time-ordered ids: oldest first), ``limit`` per page, flagged
        overdue as of ``as_of``."""
        day = utc_day(as_of)
        query = (
            sa.select(risks, _overdue_actions(day).label("overdue_actions"))
            .where(*where.conditions())
            .order_by(risks.c.risk_id)
        )
        if cursor:
            query = query.where(risks.c.risk_id > cursor)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        items = [_summary(row, day) for row in rows[:limit]]
        return Page(items, items[-1]["risk_id"] if len(rows) > limit else None)

    async def risk(self, risk_id: str, as_of: datetime) -> dict[str, Any]:
        """One risk with its controls, actions and latest acceptance."""
        day = utc_day(as_of)
        query = sa.select(risks, _overdue_actions(day).label("overdue_actions")).where(
            risks.c.risk_id == risk_id
        )
        async with self._read_model.reading() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                raise NotFound(f"risk {risk_id} does not exist", field="risk_id")
            controls = await conn.execute(
                sa.select(risk_controls)
                .where(risk_controls.c.risk_id == risk_id)
                .order_by(risk_controls.c.control_id)
            )
            actions = await conn.execute(
                sa.select(risk_actions)
                .where(risk_actions.c.risk_id == risk_id)
                .order_by(risk_actions.c.due_date, risk_actions.c.action_id)
            )
            control_rows = [dict(c) for c in controls.mappings()]
            action_rows = [dict(a) for a in actions.mappings()]
        return {
            **_summary(row, day),
            "description": row.description,
            "identified_at": row.identified_at,
            "identified_by": row.identified_by,
            "closed_at": row.closed_at,
            "controls": control_rows,
            "actions": action_rows,
        }

    async def history(self, risk_id: str) -> list[dict[str, Any]]:
        """Every event of the risk's stream, oldest first: what, who, when, why."""
        async with self._engine.connect() as conn:
            envelopes = await self._store.read_stream(conn, risk_id)
        if not envelopes or envelopes[0].stream_type != "risk":
            raise NotFound(f"risk {risk_id} does not exist", field="risk_id")
        return [
            {
                "position": e.position,
                "version": e.stream_version,
                "event_type": e.event_type,
                "recorded_at": e.time,
                "actor": e.actor.subject,
                "office": e.actor.office,
                "correlation_id": e.correlation_id,
                "data": e.data,
            }
            for e in envelopes
        ]

    async def heat_map(self, category: str | None, owner: str | None) -> dict[str, Any]:
        """Counts of open risks per likelihood x impact cell, inherent and residual, in one
        GROUP BY (grouping sets) over indexed columns."""
        where = RegisterFilter(category=category, owner=owner).conditions()
        query = (
            sa.select(
                risks.c.likelihood,
                risks.c.impact,
                risks.c.residual_likelihood,
                risks.c.residual_impact,
                sa.func.count().label("n"),
            )
            .where(*where)
            .group_by(
                sa.func.grouping_sets(
                    sa.tuple_(risks.c.likelihood, risks.c.impact),
                    sa.tuple_(risks.c.residual_likelihood, risks.c.residual_impact),
                )
            )
        )
        inherent = [[0] * 5 for _ in SCALE]
        residual = [[0] * 5 for _ in SCALE]
        async with self._read_model.reading() as conn:
            for row in await conn.execute(query):
                if row.likelihood is not None:
                    inherent[row.likelihood - 1][row.impact - 1] += row.n
                else:
                    residual[row.residual_likelihood - 1][row.residual_impact - 1] += row.n
        levels = [[self._matrix.rate(li, im).level.value for im in SCALE] for li in SCALE]
        return {
            "rows": "likelihood 1..5",
            "columns": "impact 1..5",
            "inherent": inherent,
            "residual": residual,
            "levels": levels,
            "total": sum(map(sum, inherent)),
        }

    async def overdue(self, as_of: datetime) -> dict[str, Any]:
        """Open risks whose review, and open actions of open risks, were due before
        ``as_of``'s day (UTC): a date is the last day to do it; ``days_overdue`` >= 1."""
        day = utc_day(as_of)
        reviews_query = (
            sa.select(
                risks.c.risk_id,
                risks.c.title,
                risks.c.owner,
                risks.c.review_due,
                risks.c.residual_level,
            )
            .where(risks.c.status == "open", risks.c.review_due < day)
            .order_by(risks.c.review_due, risks.c.risk_id)
        )
        actions_query = (
            sa.select(
                risk_actions.c.risk_id,
                risk_actions.c.action_id,
                risk_actions.c.title,
                risk_actions.c.owner,
                risk_actions.c.due_date,
                risks.c.title.label("risk_title"),
            )
            .join(risks, risks.c.risk_id == risk_actions.c.risk_id)
            .where(
                risk_actions.c.done.is_(False),
                risk_actions.c.due_date < day,
                risks.c.status == "open",
            )
            .order_by(risk_actions.c.due_date, risk_actions.c.action_id)
        )
        async with self._read_model.reading() as conn:
            reviews = (await conn.execute(reviews_query)).mappings().all()
            actions = (await conn.execute(actions_query)).mappings().all()
        return {
            "as_of": as_of,
            "reviews": [{**r, "days_overdue": (day - r["review_due"]).days} for r in reviews],
            "actions": [{**a, "days_overdue": (day - a["due_date"]).days} for a in actions],
        }

    async def acceptances_due_to_expire(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(risk id, acceptance id) of open risks whose acceptance ran out before today."""
        query = (
            sa.select(risks.c.risk_id, risks.c.acceptance_id)
            .where(
                risks.c.status == "open",
                risks.c.acceptance_status.in_(OPEN_ACCEPTANCE),
                risks.c.acceptance_until < utc_day(now),
            )
            .order_by(risks.c.acceptance_until)
            .limit(limit)
        )
        async with self._read_model.reading() as conn:
            return [(r.risk_id, r.acceptance_id) for r in await conn.execute(query)]

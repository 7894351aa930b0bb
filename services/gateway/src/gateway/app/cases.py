"""Reading a case from the timeline: its events in order, page by page, for whoever may see it.

Order: by time, then by the service's own order (its position). Events of one service keep the
order that service recorded them in; events of different services are ordered by the time each
service stamped on them (wall clocks of one office), and events of the same instant by service
name, so the order is stable from one call to the next.

The read model is eventually consistent: an event appears once the timeline's projection has
read it from its topic, and until a case's first event has arrived, its first known event
decides who started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.identity import Caller
from shared_kernel.readmodel import ReadModelStore
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.cases import CaseAccess
from gateway.projections.case_timeline import case_events

MAX_PAGE = 500

_ORDER = (
    case_events.c.time,
    case_events.c.service,
    case_events.c.position,
    case_events.c.event_id,
)


@dataclass(frozen=True)
class CaseEvent:
    event_id: UUID
    time: datetime
    service: str
    type: str
    subject: str
    stream_type: str
    actor: str
    office: str
    summary: str
    causation_id: str
    internal: bool


@dataclass(frozen=True)
class CaseStarter:
    subject: str
    office: str


@dataclass(frozen=True)
class CasePage:
    correlation_id: str
    started_by: CaseStarter
    started_at: datetime
    events: list[CaseEvent]
    next_after: UUID | None


class CaseQueries:
    """The timeline's questions, on its live read-model generation."""

    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def case(
        self, caller: Caller, correlation_id: str, after: UUID | None, limit: int
    ) -> CasePage:
        """A page of the case's events visible to ``caller``; NotFound, the same for a case
        that does not exist and for one the caller may not see."""
        access = CaseAccess.of(caller)
        async with self._read_model.reading() as conn:
            first = (
                await conn.execute(
                    sa.select(case_events.c.actor_subject, case_events.c.actor_office, *_ORDER)
                    .where(case_events.c.correlation_id == correlation_id)
                    .order_by(*_ORDER)
                    .limit(1)
                )
            ).first()
            if first is None or not access.sees_case(first.actor_subject):
                raise NotFound(f"there is no case {correlation_id}", field="correlation_id")
            visible = case_events.c.correlation_id == correlation_id
            if not access.sees_internal_events:
                visible = sa.and_(visible, case_events.c.internal.is_(False))
            query = sa.select(case_events).where(visible)
            if after is not None:
                query = query.where(sa.tuple_(*_ORDER) > await _position_of(conn, visible, after))
            rows = (await conn.execute(query.order_by(*_ORDER).limit(limit + 1))).all()
        events = [_event(row) for row in rows[:limit]]
        return CasePage(
            correlation_id=correlation_id,
            started_by=CaseStarter(first.actor_subject, first.actor_office),
            started_at=first.time,
            events=events,
            next_after=events[-1].event_id if len(rows) > limit else None,
        )


async def _position_of(conn: AsyncConnection, visible: sa.ColumnElement[bool], after: UUID) -> Any:
    """Where the event ``after`` (the last one of the previous page) sits in the order."""
    found = (
        await conn.execute(sa.select(*_ORDER).where(visible, case_events.c.event_id == after))
    ).first()
    if found is None:
        raise DomainError(
            f"after names no event of this case: {after}", field="after", code="UnknownCursor"
        )
    return sa.tuple_(
        *(sa.literal(value, column.type) for value, column in zip(found, _ORDER, strict=True))
    )


def _event(row: Any) -> CaseEvent:
    return CaseEvent(
        event_id=row.event_id,
        time=row.time,
        service=row.service,
        type=row.event_type,
        subject=row.subject,
        stream_type=row.stream_type,
        actor=row.actor_subject,
        office=row.actor_office,
        summary=row.summary,
        causation_id=row.causation_id,
        internal=row.internal,
    )

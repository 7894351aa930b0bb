"""Searching the gateway's decisions: the audit read model, newest first, page by page.

Who may search is decided before (``domain/own_routes.py``: auditors and administrators);
this answers any search it is given. The read model is eventually consistent: a request's
record appears once the audit publisher has sent it and the projection has read it back
(usually within a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from shared_kernel.readmodel import ReadModelStore

from gateway.domain.access_decisions import Outcome
from gateway.domain.decision_search import DecisionCursor, DecisionSearch
from gateway.projections.audit_decisions import audit_decisions

_ORDER = (audit_decisions.c.time, audit_decisions.c.record_id)


@dataclass(frozen=True)
class RecordedDecision:
    record_id: UUID
    time: datetime
    subject: str
    subject_kind: str
    office: str
    roles: tuple[str, ...]
    method: str
    route: str
    path: str
    target: str | None
    status: int
    outcome: Outcome
    reason: str
    client: str
    forwarded_client: str | None
    request_id: str
    client_request_id: str | None


@dataclass(frozen=True)
class DecisionPage:
    items: list[RecordedDecision]
    next_cursor: str | None  # None on the last page


class DecisionQueries:
    """The audit read model's questions, on its live generation."""

    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    async def search(self, search: DecisionSearch) -> DecisionPage:
        query = sa.select(audit_decisions).where(*_conditions(search))
        if search.after is not None:
            position = (
                sa.literal(search.after.time, audit_decisions.c.time.type),
                sa.literal(search.after.record_id, audit_decisions.c.record_id.type),
            )
            query = query.where(sa.tuple_(*_ORDER) < sa.tuple_(*position))
        query = query.order_by(*(column.desc() for column in _ORDER)).limit(search.limit + 1)
        async with self._read_model.reading() as conn:
            rows = (await conn.execute(query)).all()
        items = [_decision(row) for row in rows[: search.limit]]
        more = len(rows) > search.limit
        last = items[-1] if items else None
        cursor = DecisionCursor(last.time, last.record_id).encode() if more and last else None
        return DecisionPage(items, cursor)


def _conditions(search: DecisionSearch) -> list[sa.ColumnElement[bool]]:
    table = audit_decisions.c
    conditions: list[sa.ColumnElement[bool]] = []
    if search.subject is not None:
        conditions.append(table.subject == search.subject)
    if search.outcome is not None:
        conditions.append(table.outcome == search.outcome)
    if search.status is not None:
        conditions.append(table.status == search.status)
    if search.path_prefix is not None:
        # autoescape: a '%' or '_' in the prefix is a character, not a wildcard.
        conditions.append(table.path.startswith(search.path_prefix, autoescape=True))
    if search.request_id is not None:
        # The gateway's id (X-Request-Id) or the one the client brought (X-Client-Request-Id).
        conditions.append(
            sa.or_(
                table.request_id == search.request_id, table.client_request_id == search.request_id
            )
        )
    if search.since is not None:
        conditions.append(table.time >= search.since)
    if search.until is not None:
        conditions.append(table.time < search.until)
    return conditions


def _decision(row: Any) -> RecordedDecision:
    return RecordedDecision(
        record_id=row.record_id,
        time=row.time,
        subject=row.subject,
        subject_kind=row.subject_kind,
        office=row.office,
        roles=tuple(row.roles),
        method=row.method,
        route=row.route,
        path=row.path,
        target=row.target,
        status=row.status,
        # The projection writes only the two outcomes.
        outcome="deny" if row.outcome == "deny" else "allow",
        reason=row.reason,
        client=row.client,
        forwarded_client=row.forwarded_client,
        request_id=row.request_id,
        client_request_id=row.client_request_id,
    )

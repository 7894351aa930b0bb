"""Read queries over the live read model, with cursor pagination."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.readmodel import ReadModelStore

from tickets.domain import ACTIVE
from tickets.projections.tables import (
    AT_RISK,
    BREACHED,
    queues,
    ticket_links,
    ticket_messages,
    ticket_ratings,
    tickets,
)

MAX_PAGE = 500
SCORES = range(1, 6)  # the satisfaction scale
ACTIVE_STATUSES = sorted(s.value for s in ACTIVE)
TICKET_COLUMNS = [c for c in tickets.c if c.name not in ("sla_state", "search")]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class TicketFilter:
    queue_id: str | None = None
    status: str | tuple[str, ...] | None = None  # one status, or any of several
    priority: int | None = None
    assignee: str | None = None
    requester: str | None = None
    sla: str | None = None  # "breached" | "at_risk"
    q: str | None = None
    ticket_type: str | None = None
    origin_id: str | None = None  # say a risk limit breach id


# Characters of tsquery syntax: websearch_to_tsquery reads them as word separators, yet a run of
# them between hyphens still nests one NOT per hyphen and overflows PostgreSQL's tsquery stack
# ("tsquery stack too small" beyond 32). Separators they are, so they become blanks; and a run
# of hyphens (blanks between) becomes the one NOT it means.
TSQUERY_OPERATORS = re.compile(r"[!&|()<>:*\\]")
NEGATION_RUN = re.compile(r"-[\s-]*-")


def web_search(q: str) -> str:
    """The client's search in web-search syntax (words, "phrases", ``or``, ``-word``), freed
    of what could only make PostgreSQL fail."""
    return NEGATION_RUN.sub("-", TSQUERY_OPERATORS.sub(" ", q))


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DomainError("cursor is not one this API handed out", field="cursor") from exc
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise DomainError("cursor is not one this API handed out", field="cursor")
    return value


def _breached() -> sa.ColumnElement[bool]:
    """Breached tickets, in the words of the partial index that serves the filter."""
    return sa.literal_column(BREACHED, sa.Boolean)


def _at_risk() -> sa.ColumnElement[bool]:
    """Active tickets with a warning and no breach, in the words of their partial index (as
    SQL with no parameters: the planner must see the statuses to prove the index applies)."""
    return sa.literal_column(AT_RISK, sa.Boolean)


class TicketQueries:
    def __init__(self, read_model: ReadModelStore) -> None:
        self._read_model = read_model

    # -------------------------------------------------------------- queues

    async def queue(self, queue_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (
                (await conn.execute(sa.select(queues).where(queues.c.queue_id == queue_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"queue {queue_id} does not exist", field="queue_id")
        return dict(row)

    async def queues(self) -> list[dict[str, Any]]:
        async with self._read_model.reading() as conn:
            rows = await conn.execute(sa.select(queues).order_by(queues.c.name))
            return [dict(r) for r in rows.mappings()]

    # -------------------------------------------------------------- tickets

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        async with self._read_model.reading() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(*TICKET_COLUMNS).where(tickets.c.ticket_id == ticket_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
            links = await conn.execute(
                sa.select(ticket_links.c.kind, ticket_links.c.target_id)
                .where(ticket_links.c.ticket_id == ticket_id)
                .order_by(ticket_links.c.kind, ticket_links.c.target_id)
            )
            return {**dict(row), "links": [dict(link) for link in links.mappings()]}

    async def tickets(self, where: TicketFilter, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor)
        query = sa.select(*TICKET_COLUMNS).limit(limit + 1)
        if where.queue_id or where.assignee or where.requester or where.q or where.origin_id:
            # Served by the index of the filter (see projections/tables.py).
            query = query.order_by(tickets.c.position.desc())
            if after is not None:
                query = query.where(tickets.c.position < after)
        else:  # newest first through the index on -position
            query = query.order_by(-tickets.c.position)
            if after is not None:
                query = query.where(-tickets.c.position > -after)
        conditions = {
            "queue_id": tickets.c.queue_id,
            "priority": tickets.c.priority,
            "assignee": tickets.c.assignee,
            "requester": tickets.c.requester,
            "ticket_type": tickets.c.ticket_type,
            "origin_id": tickets.c.origin_id,
        }
        for name, column in conditions.items():
            value = getattr(where, name)
            if value is not None:
                query = query.where(column == value)
        if isinstance(where.status, tuple):
            query = query.where(tickets.c.status.in_(where.status))
        elif where.status is not None:
            query = query.where(tickets.c.status == where.status)
        if where.sla == "breached":
            query = query.where(_breached())
        elif where.sla == "at_risk":
            query = query.where(_at_risk())
        if where.q:
            search = sa.func.websearch_to_tsquery("simple", web_search(where.q))
            query = query.where(tickets.c.search.op("@@")(search))
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, encode_cursor(rows[-1]["position"]) if more and rows else None)

    async def conversation(self, ticket_id: str, *, include_internal: bool) -> list[dict[str, Any]]:
        query = (
            sa.select(ticket_messages)
            .where(ticket_messages.c.ticket_id == ticket_id)
            .order_by(ticket_messages.c.position)
        )
        if not include_internal:
            query = query.where(sa.not_(ticket_messages.c.internal))
        async with self._read_model.reading() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    # -------------------------------------------------------------- SLA scheduler

    async def sla_candidates(self, now: datetime, limit: int) -> list[str]:
        """Tickets with a warning or deadline at or before ``now`` whose alarm has not fired
        (each branch is served by a partial index)."""
        branches = [
            (tickets.c.first_response_warning_at, tickets.c.first_response_warned),
            (tickets.c.first_response_due_at, tickets.c.first_response_breached),
            (tickets.c.resolution_warning_at, tickets.c.resolution_warned),
            (tickets.c.resolution_due_at, tickets.c.resolution_breached),
        ]
        selects = [
            sa.select(tickets.c.ticket_id, instant.label("at"))
            .where(instant <= now, sa.not_(fired))
            .order_by(instant)
            .limit(limit)
            for instant, fired in branches
        ]
        union = sa.union_all(*(s.subquery().select() for s in selects)).subquery()
        query = (
            sa.select(union.c.ticket_id, sa.func.min(union.c.at).label("at"))
            .group_by(union.c.ticket_id)
            .order_by(sa.text("at"))
            .limit(limit)
        )
        async with self._read_model.reading() as conn:
            return [str(r.ticket_id) for r in await conn.execute(query)]

    # -------------------------------------------------------------- reports

    async def backlog(self) -> list[dict[str, Any]]:
        """Open tickets per queue, priority and status, with how many are breached."""
        query = (
            sa.select(
                tickets.c.queue_id,
                queues.c.name.label("queue_name"),
                tickets.c.priority,
                tickets.c.status,
                sa.func.count().label("tickets"),
                sa.func.count().filter(_breached()).label("breached"),
                sa.func.min(tickets.c.opened_at).label("oldest_opened_at"),
            )
            .select_from(tickets.outerjoin(queues, queues.c.queue_id == tickets.c.queue_id))
            .where(tickets.c.status.in_(ACTIVE_STATUSES))
            .group_by(tickets.c.queue_id, queues.c.name, tickets.c.priority, tickets.c.status)
            .order_by(queues.c.name, tickets.c.priority, tickets.c.status)
        )
        async with self._read_model.reading() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    async def resolution_times(self) -> list[dict[str, Any]]:
        """Mean time to resolve per queue and priority, wall clock and business time."""
        query = (
            sa.select(
                tickets.c.queue_id,
                queues.c.name.label("queue_name"),
                tickets.c.priority,
                sa.func.count().label("resolved"),
                sa.func.avg(tickets.c.resolution_seconds).label("mean_seconds"),
                sa.func.avg(tickets.c.resolution_business_seconds).label("mean_business_seconds"),
            )
            .select_from(tickets.outerjoin(queues, queues.c.queue_id == tickets.c.queue_id))
            .where(tickets.c.resolution_seconds.is_not(None))
            .group_by(tickets.c.queue_id, queues.c.name, tickets.c.priority)
            .order_by(queues.c.name, tickets.c.priority)
        )
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        for row in rows:
            row["mean_seconds"] = float(row["mean_seconds"])
            row["mean_business_seconds"] = float(row["mean_business_seconds"])
        return rows

    async def satisfaction(
        self, by: str, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        """Ratings rated in [since, until) per queue (``by`` "queue") or per agent and queue
        (``by`` "agent"): how many, the average, and how many of each score 1..5."""
        query = sa.select(
            ticket_ratings.c.queue_id,
            queues.c.name.label("queue_name"),
            sa.func.count().label("ratings"),
            sa.func.avg(ticket_ratings.c.rating).label("average"),
            *(
                sa.func.count().filter(ticket_ratings.c.rating == score).label(f"score_{score}")
                for score in SCORES
            ),
        ).select_from(
            ticket_ratings.outerjoin(queues, queues.c.queue_id == ticket_ratings.c.queue_id)
        )
        groups: list[Any] = [ticket_ratings.c.queue_id, queues.c.name]
        if by == "agent":
            query = query.add_columns(ticket_ratings.c.agent)
            groups.append(ticket_ratings.c.agent)
        if since is not None:
            query = query.where(ticket_ratings.c.at >= since)
        if until is not None:
            query = query.where(ticket_ratings.c.at < until)
        query = query.group_by(*groups).order_by(*groups)
        async with self._read_model.reading() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        return [
            {
                "queue_id": row["queue_id"],
                "queue_name": row["queue_name"],
                "agent": row.get("agent"),
                "ratings": row["ratings"],
                "average": round(float(row["average"]), 2),
                "distribution": {str(score): row[f"score_{score}"] for score in SCORES},
            }
            for row in rows
        ]

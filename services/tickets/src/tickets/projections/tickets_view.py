"""The tickets read model: queues, tickets with their SLA deadlines, conversation, links.

Applying is a pure function of the events and the current rows (no side effects), so a
replay or rebuild never acts twice. Each ticket's SLA state is folded with the domain's own
``fold_sla`` and its deadlines recomputed from it, exactly as the aggregate computes them.

Set-based: a batch's events are folded in memory per ticket and per queue (a stream's events
arrive in order, on one partition), starting from the rows as they were, loaded with one
query; then a few multi-row statements write the result: new tickets and queues are inserted
complete, existing ones updated once each (grouped by the columns that changed), messages and
links inserted in bulk. ``apply`` (one event) is the same code with a batch of one, and a
batch gives exactly the rows its events give one at a time: a column an event sets keeps the
last value, ``first_response_at`` keeps the first (coalesce), ``alert_count`` adds up, an
event on a ticket or queue without a row changes nothing, and a second ``TicketOpened`` or
``QueueCreated`` for an existing row inserts nothing (the SLA state restarts, as
``fold_sla`` says).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.recordsets import Row, insert_new, update_rows
from shared_kernel.typed_projection import TypedProjection
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from tickets.domain import ALL_EVENTS, TicketSla, fold_sla
from tickets.domain import events as ev
from tickets.projections.tables import (
    metadata,
    queues,
    ticket_links,
    ticket_messages,
    ticket_ratings,
    tickets,
)

TICKET_STREAM = "ticket"
QUEUE_STREAM = "queue"
# Columns an update does not simply overwrite: the first value stays, or it adds up.
COALESCED = frozenset({"first_response_at"})
ADDED = frozenset({"alert_count"})


class TicketsView(TypedProjection):
    name = "tickets_view_v2"  # v2: origin, ratings
    metadata = metadata
    reads = ALL_EVENTS

    def __init__(self, topic_namespace: str = "", *, codec: EventCodec | None = None) -> None:
        """``codec``: the service's, with its upcasters (default: the tickets' event classes)."""
        super().__init__(codec or EventCodec(ALL_EVENTS))
        self.topics = (events_topic("tickets", topic_namespace),)

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        queue_events: list[tuple[EventEnvelope, DomainEvent]] = []
        ticket_events: list[tuple[EventEnvelope, DomainEvent]] = []
        for envelope, event in events:
            if envelope.stream_type == QUEUE_STREAM:
                queue_events.append((envelope, event))
            elif envelope.stream_type == TICKET_STREAM:
                ticket_events.append((envelope, event))
        if queue_events:
            await _QueueBatch().apply(conn, queue_events)
        if ticket_events:
            await _TicketBatch().apply(conn, ticket_events)


# ------------------------------------------------------------------------------ tickets


@dataclass
class _TicketFold:
    """One ticket's changes within a batch."""

    exists: bool  # it had a row before the batch
    state: TicketSla | None
    new_row: Row | None = None  # opened in this batch: the complete row to insert
    changes: Row = field(default_factory=dict)  # for an existing row

    def change(self, changes: Row, stamp: Row) -> None:
        target = self.new_row if self.new_row is not None else self.changes
        for column, value in changes.items():
            if column in COALESCED:
                if target.get(column) is None:
                    target[column] = value
            elif column in ADDED:
                target[column] = target.get(column, 0) + value
            else:
                target[column] = value
        target.update(stamp)


@dataclass
class _TicketBatch:
    folds: dict[str, _TicketFold] = field(default_factory=dict)
    messages: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)
    ratings: list[Row] = field(default_factory=list)

    async def apply(
        self, conn: AsyncConnection, events: list[tuple[EventEnvelope, DomainEvent]]
    ) -> None:
        await self._load(conn, list(dict.fromkeys(e.subject for e, _ in events)))
        for envelope, event in events:
            self._fold(envelope, event)
        await self._write(conn)

    async def _load(self, conn: AsyncConnection, ticket_ids: list[str]) -> None:
        rows = await conn.execute(
            sa.select(tickets.c.ticket_id, tickets.c.sla_state).where(
                tickets.c.ticket_id == sa.any_(sa.bindparam("ids", ticket_ids, ARRAY(sa.Text)))
            )
        )
        stored = {row.ticket_id: row.sla_state for row in rows}
        for ticket_id in ticket_ids:
            data = stored.get(ticket_id)
            state = TicketSla.from_dict(data) if data else None
            self.folds[ticket_id] = _TicketFold(exists=ticket_id in stored, state=state)

    def _fold(self, envelope: EventEnvelope, event: DomainEvent) -> None:
        fold = self.folds[envelope.subject]
        state = fold_sla(fold.state, event)
        fold.state = state
        stamp = {
            "updated_at": envelope.time,
            "version": envelope.stream_version,
            "position": envelope.position,
        }
        if isinstance(event, ev.TicketOpened):
            if not fold.exists and fold.new_row is None:  # else: the row stays as it is
                fold.new_row = _opened_row(envelope.subject, event, stamp)
            return
        if isinstance(event, ev.TicketReplied | ev.TicketNoteAdded):
            self.messages.append(_message_row(envelope, event))
        elif isinstance(event, ev.TicketLinked):
            self.links.append(
                {
                    "ticket_id": envelope.subject,
                    "kind": event.kind,
                    "target_id": event.target_id,
                    "at": event.at,
                }
            )
        elif isinstance(event, ev.TicketRated):
            self.ratings.append(_rating_row(envelope, event))
        if fold.exists or fold.new_row is not None:  # an event without a row changes nothing
            fold.change(_ticket_changes(event, state), stamp)

    async def _write(self, conn: AsyncConnection) -> None:
        new: list[Row] = []
        # The changed columns (sorted) -> the rows changing exactly those.
        updates: defaultdict[tuple[str, ...], list[Row]] = defaultdict(list)
        for ticket_id, fold in self.folds.items():
            sla = _sla_columns(fold.state) if fold.state is not None else {}
            if fold.new_row is not None:
                new.append({**fold.new_row, **sla})
            elif fold.exists:
                changes = {**fold.changes, **sla}
                if changes:
                    updates[tuple(sorted(changes))].append({"ticket_id": ticket_id, **changes})
        await insert_new(conn, tickets, new)
        for rows in updates.values():
            await update_rows(conn, tickets, "ticket_id", rows, coalesce=COALESCED, add=ADDED)
        await insert_new(conn, ticket_messages, self.messages)
        await insert_new(conn, ticket_links, self.links)
        await insert_new(conn, ticket_ratings, self.ratings)


def _opened_row(ticket_id: str, event: ev.TicketOpened, stamp: Row) -> Row:
    return {
        "ticket_id": ticket_id,
        "ticket_type": event.ticket_type,
        "queue_id": event.queue_id,
        "title": event.title,
        "description": event.description,
        "category": event.category,
        "configuration_item": event.configuration_item,
        "requester": event.requester,
        "requester_kind": event.requester_kind,
        "impact": event.impact,
        "urgency": event.urgency,
        "priority": event.priority,
        "status": event.status,
        "assignee": None,
        "escalated_to": None,
        "merged_into": None,
        "opened_at": event.opened_at,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "resolution_seconds": None,
        "resolution_business_seconds": None,
        "alert_count": 0,
        "last_alert_at": None,
        "origin": event.origin,
        "origin_id": event.origin.get("id") if event.origin else None,
        "rating": None,
        "first_response_warning_at": None,
        "first_response_due_at": None,
        "resolution_warning_at": None,
        "resolution_due_at": None,
        "first_response_warned": False,
        "first_response_breached": False,
        "resolution_warned": False,
        "resolution_breached": False,
        "sla_state": {},  # written with the deadlines from the state at the batch's end
        **stamp,
    }


def _message_row(envelope: EventEnvelope, event: ev.TicketReplied | ev.TicketNoteAdded) -> Row:
    internal = isinstance(event, ev.TicketNoteAdded)
    return {
        "message_id": event.message_id,
        "ticket_id": event.ticket_id,
        "internal": internal,
        "by_agent": True if internal else getattr(event, "by_agent", False),
        "author": event.author,
        "body": event.body,
        "at": event.at,
        "position": envelope.position,
    }


def _rating_row(envelope: EventEnvelope, event: ev.TicketRated) -> Row:
    return {
        "ticket_id": event.ticket_id,
        "queue_id": event.queue_id,
        "agent": event.agent,
        "rating": event.rating,
        "comment": event.comment,
        "rated_by": event.rated_by,
        "at": event.at,
        "position": envelope.position,
    }


def _sla_columns(state: TicketSla) -> Row:
    """A ticket's SLA state and the deadlines derived from it."""
    deadlines = state.deadlines()
    return {
        "sla_state": state.to_dict(),
        "first_response_warning_at": deadlines.first_response_warning_at,
        "first_response_due_at": deadlines.first_response_due_at,
        "resolution_warning_at": deadlines.resolution_warning_at,
        "resolution_due_at": deadlines.resolution_due_at,
        "first_response_warned": "first_response" in state.warned,
        "first_response_breached": "first_response" in state.breached,
        "resolution_warned": "resolution" in state.warned,
        "resolution_breached": "resolution" in state.breached,
    }


def _ticket_changes(event: DomainEvent, state: TicketSla | None) -> Row:
    """The plain columns an event changes (SLA columns are written from the folded state);
    ``first_response_at`` is kept if already set (COALESCED), ``alert_count`` is added."""
    match event:
        case ev.TicketClassified():
            return {"impact": event.impact, "urgency": event.urgency}
        case ev.TicketPriorityChanged():
            return {"priority": event.priority}
        case ev.TicketStatusChanged():
            return _status_changes(event, state)
        case ev.TicketAssigned():
            return {"assignee": event.assignee}
        case ev.TicketReplied(by_agent=True):
            return {"first_response_at": event.at}
        case ev.TicketMerged():
            return {"merged_into": event.survivor_id}
        case ev.TicketEscalated():
            return {"escalated_to": event.escalated_to}
        case ev.AlertRecorded():
            return {"alert_count": 1, "last_alert_at": event.at}
        case ev.TicketRated():
            return {"rating": event.rating}
    return {}


def _status_changes(event: ev.TicketStatusChanged, state: TicketSla | None) -> Row:
    changes: Row = {"status": event.status}
    if event.status == "resolved":
        opened_at: datetime | None = state.resolution.started_at if state else None
        changes["resolved_at"] = event.at
        if opened_at is not None and state is not None:
            changes["resolution_seconds"] = int((event.at - opened_at).total_seconds())
            changes["resolution_business_seconds"] = int(
                state.business_time_to_resolve(event.at).total_seconds()
            )
    elif event.status in ("closed", "cancelled"):
        changes["closed_at"] = event.at
    elif event.previous_status == "resolved":  # reopened: the resolution did not hold
        changes.update(resolved_at=None, resolution_seconds=None, resolution_business_seconds=None)
    return changes


# ------------------------------------------------------------------------------ queues


@dataclass
class _QueueFold:
    exists: bool
    members: list[dict[str, Any]]
    new_row: Row | None = None
    stamp: Row | None = None  # version and position of the last event on an existing row


@dataclass
class _QueueBatch:
    folds: dict[str, _QueueFold] = field(default_factory=dict)

    async def apply(
        self, conn: AsyncConnection, events: list[tuple[EventEnvelope, DomainEvent]]
    ) -> None:
        queue_ids = list(dict.fromkeys(e.subject for e, _ in events))
        rows = await conn.execute(
            sa.select(queues.c.queue_id, queues.c.members).where(
                queues.c.queue_id == sa.any_(sa.bindparam("ids", queue_ids, ARRAY(sa.Text)))
            )
        )
        stored = {row.queue_id: row.members for row in rows}
        for queue_id in queue_ids:
            self.folds[queue_id] = _QueueFold(
                exists=queue_id in stored, members=list(stored.get(queue_id) or [])
            )
        for envelope, event in events:
            self._fold(envelope, event)
        await insert_new(conn, queues, [f.new_row for f in self.folds.values() if f.new_row])
        await update_rows(
            conn,
            queues,
            "queue_id",
            [
                {"queue_id": queue_id, "members": fold.members, **fold.stamp}
                for queue_id, fold in self.folds.items()
                if fold.exists and fold.stamp is not None
            ],
        )

    def _fold(self, envelope: EventEnvelope, event: DomainEvent) -> None:
        fold = self.folds[envelope.subject]
        stamp = {"version": envelope.stream_version, "position": envelope.position}
        if isinstance(event, ev.QueueCreated):
            if not fold.exists and fold.new_row is None:  # else: the row stays as it is
                fold.members = []
                fold.new_row = {
                    "queue_id": event.queue_id,
                    "name": event.name,
                    "escalation_group": event.escalation_group,
                    "auto_assign": event.auto_assign,
                    "sla_policy": event.sla_policy,
                    "priority_matrix": event.priority_matrix,
                    "members": fold.members,
                    "created_at": envelope.time,
                    **stamp,
                }
            return
        if not fold.exists and fold.new_row is None:  # an event without a row changes nothing
            return
        match event:
            case ev.QueueMemberAdded():
                fold.members = [*fold.members, {"member": event.member, "available": True}]
            case ev.QueueMemberRemoved():
                fold.members = [m for m in fold.members if m["member"] != event.member]
            case ev.QueueMemberAvailabilityChanged():
                fold.members = [
                    {**m, "available": event.available} if m["member"] == event.member else m
                    for m in fold.members
                ]
        if fold.new_row is not None:
            fold.new_row.update(members=fold.members, **stamp)
        else:
            fold.stamp = stamp

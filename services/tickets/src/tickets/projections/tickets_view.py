"""The tickets read model: queues, tickets with their SLA deadlines, conversation, links.

Applying is a pure function of the events and the current rows (no side effects), so a
replay or rebuild never acts twice. Each ticket's SLA state is folded with the domain's own
``fold_sla`` and its deadlines recomputed from it, exactly as the aggregate computes them.
A ticket's events share one stream, hence one partition, so they arrive in order; within a
batch, the SLA states touched are loaded once and written back once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import EventEnvelope
from shared_kernel.kafka import events_topic
from shared_kernel.projections import Projection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tickets.domain import ALL_EVENTS, TicketSla, fold_sla
from tickets.domain import events as ev
from tickets.projections.tables import (
    metadata,
    queues,
    ticket_links,
    ticket_messages,
    tickets,
)

TICKET_STREAM = "ticket"
QUEUE_STREAM = "queue"


class TicketsView(Projection):
    name = "tickets_view_v1"
    metadata = metadata

    def __init__(self, topic_namespace: str = "") -> None:
        self.topics = (events_topic("tickets", topic_namespace),)
        self._codec = EventCodec(ALL_EVENTS)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        batch = _Batch(conn)
        for envelope in events:
            if not self._codec.knows(envelope.event_type):
                continue
            event = self._codec.decode_envelope(envelope)
            if envelope.stream_type == QUEUE_STREAM:
                await _apply_queue(conn, envelope, event)
            elif envelope.stream_type == TICKET_STREAM:
                await batch.apply_ticket(envelope, event)
        await batch.write_sla()


@dataclass
class _Batch:
    conn: AsyncConnection
    sla: dict[str, TicketSla | None] = field(default_factory=dict)

    async def state(self, ticket_id: str) -> TicketSla | None:
        if ticket_id not in self.sla:
            row = await self.conn.execute(
                sa.select(tickets.c.sla_state).where(tickets.c.ticket_id == ticket_id)
            )
            data = row.scalar_one_or_none()
            self.sla[ticket_id] = TicketSla.from_dict(data) if data else None
        return self.sla[ticket_id]

    async def apply_ticket(self, envelope: EventEnvelope, event: DomainEvent) -> None:
        ticket_id = envelope.subject
        state = fold_sla(await self.state(ticket_id), event)
        self.sla[ticket_id] = state
        stamp = {
            "version": envelope.stream_version,
            "position": envelope.position,
            "updated_at": envelope.time,
        }
        if isinstance(event, ev.TicketOpened):
            await self.conn.execute(
                pg_insert(tickets)
                .values(
                    ticket_id=ticket_id,
                    ticket_type=event.ticket_type,
                    queue_id=event.queue_id,
                    title=event.title,
                    description=event.description,
                    category=event.category,
                    configuration_item=event.configuration_item,
                    requester=event.requester,
                    requester_kind=event.requester_kind,
                    impact=event.impact,
                    urgency=event.urgency,
                    priority=event.priority,
                    status=event.status,
                    opened_at=event.opened_at,
                    sla_state=state.to_dict() if state else {},
                    **stamp,
                )
                .on_conflict_do_nothing()
            )
            return
        changes = _ticket_changes(event, state)
        if isinstance(event, ev.TicketReplied | ev.TicketNoteAdded):
            await self._message(envelope, event)
        elif isinstance(event, ev.TicketLinked):
            await self.conn.execute(
                pg_insert(ticket_links)
                .values(
                    ticket_id=ticket_id, kind=event.kind, target_id=event.target_id, at=event.at
                )
                .on_conflict_do_nothing()
            )
        await self.conn.execute(
            tickets.update().where(tickets.c.ticket_id == ticket_id).values(**changes, **stamp)
        )

    async def _message(
        self, envelope: EventEnvelope, event: ev.TicketReplied | ev.TicketNoteAdded
    ) -> None:
        internal = isinstance(event, ev.TicketNoteAdded)
        await self.conn.execute(
            pg_insert(ticket_messages)
            .values(
                message_id=event.message_id,
                ticket_id=event.ticket_id,
                internal=internal,
                by_agent=True if internal else getattr(event, "by_agent", False),
                author=event.author,
                body=event.body,
                at=event.at,
                position=envelope.position,
            )
            .on_conflict_do_nothing()
        )

    async def write_sla(self) -> None:
        """Write back every touched ticket's SLA state and the deadlines derived from it."""
        for ticket_id, state in self.sla.items():
            if state is None:
                continue
            deadlines = state.deadlines()
            await self.conn.execute(
                tickets.update()
                .where(tickets.c.ticket_id == ticket_id)
                .values(
                    sla_state=state.to_dict(),
                    first_response_warning_at=deadlines.first_response_warning_at,
                    first_response_due_at=deadlines.first_response_due_at,
                    resolution_warning_at=deadlines.resolution_warning_at,
                    resolution_due_at=deadlines.resolution_due_at,
                    first_response_warned="first_response" in state.warned,
                    first_response_breached="first_response" in state.breached,
                    resolution_warned="resolution" in state.warned,
                    resolution_breached="resolution" in state.breached,
                )
            )


def _ticket_changes(event: DomainEvent, state: TicketSla | None) -> dict[str, Any]:
    """The plain columns an event changes (SLA columns are written from the folded state)."""
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
            return {"first_response_at": sa.func.coalesce(tickets.c.first_response_at, event.at)}
        case ev.TicketMerged():
            return {"merged_into": event.survivor_id}
        case ev.TicketEscalated():
            return {"escalated_to": event.escalated_to}
        case ev.AlertRecorded():
            return {"alert_count": tickets.c.alert_count + 1, "last_alert_at": event.at}
    return {}


def _status_changes(event: ev.TicketStatusChanged, state: TicketSla | None) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": event.status}
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


async def _apply_queue(conn: AsyncConnection, envelope: EventEnvelope, event: DomainEvent) -> None:
    stamp = {"version": envelope.stream_version, "position": envelope.position}
    if isinstance(event, ev.QueueCreated):
        await conn.execute(
            pg_insert(queues)
            .values(
                queue_id=event.queue_id,
                name=event.name,
                escalation_group=event.escalation_group,
                auto_assign=event.auto_assign,
                sla_policy=event.sla_policy,
                priority_matrix=event.priority_matrix,
                members=[],
                created_at=envelope.time,
                **stamp,
            )
            .on_conflict_do_nothing()
        )
        return
    row = await conn.execute(
        sa.select(queues.c.members).where(queues.c.queue_id == envelope.subject)
    )
    members: list[dict[str, Any]] = list(row.scalar_one_or_none() or [])
    match event:
        case ev.QueueMemberAdded():
            members.append({"member": event.member, "available": True})
        case ev.QueueMemberRemoved():
            members = [m for m in members if m["member"] != event.member]
        case ev.QueueMemberAvailabilityChanged():
            members = [
                {**m, "available": event.available} if m["member"] == event.member else m
                for m in members
            ]
    await conn.execute(
        queues.update()
        .where(queues.c.queue_id == envelope.subject)
        .values(members=members, **stamp)
    )

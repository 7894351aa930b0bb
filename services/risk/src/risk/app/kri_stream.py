"""The stream-fed KRI "open critical IT incidents": an inbox over the tickets topic.

The kernel inbox hands each batch of tickets events to :class:`OpenCriticalIncidentsInbox`
exactly once; it keeps each incident ticket's facts in a ``WatchedTicket`` stream and records a
measurement of the KRI whenever the count moves, in the same transaction as the inbox rows, so
the count and its status changes are recorded once and never again on a restart or a replay of
the tickets topic.

A measurement is stamped with the time of the tickets event that moved the count, or with the
time of the KRI's latest measurement if that is later (events of different partitions arrive
interleaved; a running count has no "out of order"). Its id is the tickets event's id. The
first tickets event the rule reads also records the count when it does not move it (0), so
that the KRI shows green rather than "never measured".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import Conflict
from shared_kernel.identity import Caller
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import CommandContext, CommandResult, UnitOfWork

from risk.adapters.kri_locks import lock_kri as lock_kri_stream
from risk.app.commands import CommandRunner
from risk.domain.kri import Kri, KriDefinition, KriSource, Thresholds, kri_stream_id
from risk.domain.kri_tickets import (
    OPEN_CRITICAL_INCIDENTS,
    OPEN_CRITICAL_INCIDENTS_RULE,
    TICKET_EVENTS,
    WatchedTicket,
    facts_after,
    ticket_id_of,
    watched_ticket_stream_id,
)

log = logging.getLogger(__name__)

LockKri = Callable[[UnitOfWork, str], Awaitable[None]]


async def lock_kri(uow: UnitOfWork, stream_id: str) -> None:
    await lock_kri_stream(uow.connection, stream_id)


SETUP = Caller.system("risk-kri-setup")


@dataclass(frozen=True)
class StreamKriSpec:
    """How the stream-fed KRI is defined when the service first meets it."""

    kri_id: str
    definition: KriDefinition
    thresholds: Thresholds


def open_critical_incidents_spec(amber: float, red: float, owner: str) -> StreamKriSpec:
    return StreamKriSpec(
        OPEN_CRITICAL_INCIDENTS,
        KriDefinition(
            name="Open critical IT incidents",
            description="Incidents of priority 1 that are neither resolved, closed nor "
            "cancelled, counted from the tickets service's events.",
            unit="incidents",
            owner=owner,
            source=KriSource.STREAM,
            stream_rule=OPEN_CRITICAL_INCIDENTS_RULE,
        ),
        Thresholds.of("higher_is_worse", amber, red),
    )


def define_stream_kri(spec: StreamKriSpec, defined_by: str) -> Kri:
    return Kri.define(spec.kri_id, spec.definition, spec.thresholds, defined_by=defined_by)


async def ensure_stream_kri(runner: CommandRunner, spec: StreamKriSpec) -> bool:
    """Define the stream-fed KRI at start-up unless it exists; True when this call did."""

    async def define(_: StreamKriSpec, uow: UnitOfWork) -> CommandResult:
        async with uow:
            if await uow.find(Kri, kri_stream_id(spec.kri_id)) is not None:
                raise Conflict("already defined", code="KriAlreadyDefined")
            kri = define_stream_kri(spec, SETUP.subject)
            uow.add(kri)
            return await uow.commit(kri)

    try:
        await runner.execute(CommandContext(SETUP), define, spec)
    except Conflict:
        return False
    log.info("defined the stream-fed KRI %s", spec.kri_id)
    return True


class OpenCriticalIncidentsInbox(InboxHandler):
    """Counts open critical incidents from ``tickets.events`` into the KRI's measurements."""

    name = "kri_open_critical_incidents"

    def __init__(
        self, spec: StreamKriSpec, topic_namespace: str = "", *, lock: LockKri = lock_kri
    ) -> None:
        self.spec = spec
        self.topics = (events_topic("tickets", topic_namespace),)
        self._lock = lock

    async def handle(self, uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
        relevant = [e for e in events if e.event_type in TICKET_EVENTS]
        if not relevant:
            return
        ticket_ids = list(dict.fromkeys(ticket_id_of(e.data) for e in relevant))
        tickets = await uow.find_many(
            WatchedTicket, [watched_ticket_stream_id(t) for t in ticket_ids]
        )
        # Batches of several partitions move one count: queue rather than conflict.
        await self._lock(uow, kri_stream_id(self.spec.kri_id))
        kri = await uow.find(Kri, kri_stream_id(self.spec.kri_id))
        if kri is None:
            kri = define_stream_kri(self.spec, uow.context.actor.subject)
            uow.add(kri)
        for event in relevant:
            ticket_id = ticket_id_of(event.data)
            stream_id = watched_ticket_stream_id(ticket_id)
            ticket = tickets.get(stream_id) or WatchedTicket.of(ticket_id)
            facts = facts_after(event.event_type, event.data, ticket.facts)
            if facts is None:
                continue
            delta = ticket.observe(
                facts, source_event_id=str(event.id), source_event_type=event.event_type
            )
            if stream_id not in tickets:
                tickets[stream_id] = ticket
                uow.add(ticket)
            if delta or kri.latest is None:
                self._count(kri, delta, event, uow.context.actor.subject)

    @staticmethod
    def _count(kri: Kri, delta: int, event: EventEnvelope, recorded_by: str) -> None:
        latest = kri.latest
        value = (latest.value if latest else 0.0) + delta
        measured_at = max(event.time, latest.measured_at) if latest else event.time
        kri.record_measurement(
            str(event.id),
            value,
            measured_at,
            source=event.type,
            recorded_by=recorded_by,
            now=measured_at,
            from_stream=True,
        )


async def define_stream_kri_at_start(runner: CommandRunner, spec: StreamKriSpec) -> None:
    """Background task of the lifespan: define the stream-fed KRI once the database answers
    (retrying with back-off), so that it is listed before the first tickets event."""
    backoff = 0.5
    while True:
        try:
            await ensure_stream_kri(runner, spec)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not define the KRI %s; retrying in %.1fs", spec.kri_id, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

"""Monitoring alerts in: one open incident per host and check.

A firing alert opens an incident when its (host, check) has none open, and is added to the
open one otherwise; a recovery alert resolves it. The alert source's stream decides (see
``domain.alerts``), so concurrent alerts for one host and check cannot open two incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared_kernel.errors import DomainError
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from tickets.app.commands import OpenTicket, TicketCommands
from tickets.domain import (
    DEFAULT_SEVERITY,
    SEVERITY_CLASSIFICATION,
    AlertSource,
    AlertState,
    Status,
    Ticket,
    parse_alert_state,
    source_id_for,
)

# Alerts of one host and check queue up on this lock instead of colliding on its incident;
# taken before the queue's lock (``commands.QUEUE_LOCK``) when the alert opens a ticket.
ALERT_SOURCE_LOCK = "tickets.alert-source"


@dataclass(frozen=True)
class RecordAlert:
    host: str
    check: str
    state: str
    summary: str
    queue_id: str
    severity: str | None = None
    occurred_at: datetime | None = None
    category: str = "monitoring"
    # The id of the incident it opens, if it opens one (an inbox derives it from its source).
    incident_id: str | None = None


@dataclass
class AlertCommands:
    """The monitoring handler; opening an incident is the ticket handlers' (``tickets``)."""

    tickets: TicketCommands

    async def record_alert(self, command: RecordAlert, uow: UnitOfWork) -> CommandResult:
        async with uow:
            source, ticket = await self.record_in(uow, command)
            if ticket is None:
                return await uow.commit(source)
            return await uow.commit(ticket)

    async def record_in(
        self, uow: UnitOfWork, command: RecordAlert
    ) -> tuple[AlertSource, Ticket | None]:
        """Record the alert inside ``uow`` (a command's, or an inbox's batch): the alert
        source and its incident (None when a recovery finds none open: nothing changes)."""
        state = parse_alert_state(command.state)
        host, check = command.host.strip(), command.check.strip()
        severity = (command.severity or DEFAULT_SEVERITY).strip().lower()
        if severity not in SEVERITY_CLASSIFICATION:
            raise DomainError(
                f"severity must be one of {', '.join(SEVERITY_CLASSIFICATION)}",
                field="severity",
                code="InvalidSeverity",
            )
        now = self.tickets.clock()
        await uow.lock(ALERT_SOURCE_LOCK, source_id_for(host, check))
        source = await uow.find(AlertSource, source_id_for(host, check))
        if source is None:
            source = AlertSource.for_check(host, check)
            uow.add(source)
        ticket = None
        if source.open_ticket_id is not None:
            found = await uow.find(Ticket, source.open_ticket_id)
            ticket = found if found is not None and found.is_active else None
        if ticket is None and state is AlertState.FIRING:
            impact, urgency = SEVERITY_CLASSIFICATION[severity]
            ticket = await self.tickets.open_in(
                uow,
                OpenTicket(
                    ticket_type="incident",
                    queue_id=command.queue_id,
                    impact=impact,
                    urgency=urgency,
                    title=f"{host}: {check}"[:300],
                    description=command.summary,
                    category=command.category,
                    configuration_item=host,
                    requester_kind="system",
                    ticket_id=command.incident_id,
                ),
            )
            source.incident_opened(host, check, ticket.id)
        if ticket is None:
            # A recovery without an open incident: nothing to resolve, nothing written.
            uow.expect_unchanged(source)
            return source, None
        ticket.record_alert(
            host=host,
            check=check,
            state=state.value,
            summary=command.summary,
            severity=severity,
            occurred_at=command.occurred_at or now,
            at=now,
        )
        if state is AlertState.RESOLVED:
            ticket.transition(
                Status.RESOLVED,
                reason=f"recovery alert: {command.summary}"[:500],
                at=now,
                reopen_window=self.tickets.reopen_window,
            )
            source.recovered()
        else:
            uow.expect_unchanged(source)
        return source, ticket

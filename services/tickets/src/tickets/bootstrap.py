"""The tickets service's composition root: the one place that wires kernel, domain and
adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field
from shared_kernel.codec import EventCodec
from shared_kernel.commands import CommandBus, utc_now
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.settings import ServiceSettings
from shared_kernel.unit_of_work import CommandContext, CommandResult

from tickets.app.alerts import AlertCommands
from tickets.app.commands import CreateQueue, TicketCommands
from tickets.app.dead_letters import DeadLetterIncidents
from tickets.app.history import TicketHistory
from tickets.app.limit_breaches import LimitBreachIncidents
from tickets.app.queries import TicketQueries
from tickets.app.sla_scheduler import SlaScheduler
from tickets.domain import ALL_EVENTS, DEFAULT_QUEUE_NAME
from tickets.domain.limit_breaches import RISK_LIMITS_ESCALATION_GROUP, RISK_LIMITS_QUEUE
from tickets.projections.tickets_view import TicketsView

SERVICE = "tickets"


class TicketsSettings(ServiceSettings):
    """Tickets settings: the common ones, plus reopening, the SLA scheduler and retries."""

    service: ClassVar[str] = SERVICE

    # How long after its resolution a ticket may still be reopened.
    reopen_window_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    # How often the SLA scheduler looks for due warnings and breaches (``run_sla_scheduler``).
    sla_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    run_sla_scheduler: bool = True
    # How often a command is run again after a concurrency conflict before answering 409.
    command_attempts: int = Field(default=12, ge=1, le=100)
    # The queue created at start-up (if missing), and where monitoring alerts open incidents.
    default_queue_name: str = DEFAULT_QUEUE_NAME
    default_escalation_group: str = "it-managers"
    create_default_queue: bool = True
    # Where risk limit breaches open incidents (created at start-up and when missing).
    risk_limits_queue_name: str = RISK_LIMITS_QUEUE
    risk_limits_escalation_group: str = RISK_LIMITS_ESCALATION_GROUP


def tickets_codec() -> EventCodec:
    return EventCodec(ALL_EVENTS)


@dataclass
class Tickets:
    settings: TicketsSettings
    runtime: ServiceRuntime
    bus: CommandBus
    commands: TicketCommands
    alerts: AlertCommands
    queries: TicketQueries
    history: TicketHistory
    scheduler: SlaScheduler
    waiter: PositionWaiter
    clock: Callable[[], datetime]

    async def ensure_default_queue(self) -> CommandResult:
        """Create the default queue unless it exists (idempotent, safe at every start)."""
        command = CreateQueue(
            name=self.settings.default_queue_name,
            escalation_group=self.settings.default_escalation_group,
        )
        context = CommandContext.system("tickets-setup")
        return await self.bus.execute(context, self.commands.ensure_queue, command)

    async def ensure_risk_limits_queue(self) -> CommandResult:
        """Create the queue of limit breach incidents unless it exists (the inbox creates it
        too when a breach comes first)."""
        command = CreateQueue(
            name=self.settings.risk_limits_queue_name,
            escalation_group=self.settings.risk_limits_escalation_group,
        )
        context = CommandContext.system("tickets-setup")
        return await self.bus.execute(context, self.commands.ensure_queue, command)


def bootstrap(
    settings: TicketsSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> Tickets:
    settings = settings or TicketsSettings()
    codec = tickets_codec()
    view = TicketsView(settings.topic_namespace, codec=codec)
    commands = TicketCommands(
        clock=clock, reopen_window=timedelta(seconds=settings.reopen_window_seconds)
    )
    breaches = LimitBreachIncidents(
        commands,
        settings.topic_namespace,
        queue_name=settings.risk_limits_queue_name,
        escalation_group=settings.risk_limits_escalation_group,
    )
    runtime = ServiceRuntime(SERVICE, settings, codec, [view], inboxes=[breaches])
    read_model = runtime.read_models[view.name]
    bus = CommandBus(runtime.unit_of_work, attempts=settings.command_attempts)
    runtime.inboxes.append(
        DeadLetterIncidents(
            bus, commands, settings.default_escalation_group, settings.topic_namespace
        )
    )
    queries = TicketQueries(read_model)
    return Tickets(
        settings=settings,
        runtime=runtime,
        bus=bus,
        commands=commands,
        alerts=AlertCommands(commands),
        queries=queries,
        history=TicketHistory(runtime.engine, runtime.store, runtime.codec),
        scheduler=SlaScheduler(
            bus, commands, queries, clock, interval_seconds=settings.sla_sweep_interval_seconds
        ),
        waiter=runtime.waiter(view.name),
        clock=clock,
    )

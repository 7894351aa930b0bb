"""Dead letters in, incidents out: the inbox that lets the office watch itself.

It reads the dead-letter notices of every service (``<ns><service>.dead-letter-notices``) and
records each as a monitoring alert through ``AlertCommands``: a ``DeadLettered`` notice opens an
incident in the ``it-support`` queue for (host = service, check = consumer), or adds itself to
the one open; a ``DeadLettersRecovered`` notice resolves it. Exactly once: the kernel's inbox
claims each notice id (deterministic, see ``shared_kernel.dead_letter_notices``), the incident's
id derives from the notice that opens it, and "now" is the notice's time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.commands import Clock, CommandBus
from shared_kernel.dead_letter_notices import DeadLettered, DeadLettersRecovered
from shared_kernel.domain import Cause, DomainEvent, caused_by
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import dead_letter_notices_topic
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

from tickets.app.alerts import AlertCommands, RecordAlert
from tickets.app.commands import CreateQueue, TicketCommands
from tickets.domain import DEFAULT_QUEUE_NAME, queue_id_for
from tickets.domain.dead_letters import (
    DEAD_LETTER_CATEGORY,
    DEAD_LETTER_NOTICES,
    DEAD_LETTER_SEVERITY,
    alert_of,
)

log = logging.getLogger(__name__)

WATCHED_SERVICES = ("ledger", "tickets", "risk", "gateway")
_INCIDENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:tickets:dead-letter-incident")


class DeadLetterIncidents(InboxHandler):
    """Opens and resolves the incidents of consumers that dead-letter events."""

    name = "dead_letter_incidents"
    # Opening an incident loads its queue's round-robin turn, which one unit of work can load
    # once: one notice per unit of work (notices are rare).
    batch_size = 1

    def __init__(
        self,
        bus: CommandBus,
        tickets: TicketCommands,
        escalation_group: str,
        topic_namespace: str = "",
        *,
        services: Sequence[str] = WATCHED_SERVICES,
        queue_name: str = DEFAULT_QUEUE_NAME,
    ) -> None:
        self.topics = tuple(dead_letter_notices_topic(s, topic_namespace) for s in services)
        self.codec = EventCodec(DEAD_LETTER_NOTICES)
        self._bus = bus
        self._tickets = tickets
        self._queue = CreateQueue(name=queue_name, escalation_group=escalation_group)
        self._queue_ready = False

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        if not self._queue_ready and any(isinstance(e, DeadLettered) for _, e in events):
            await self._ensure_queue()
        for envelope, notice in events:
            assert isinstance(notice, DeadLettered | DeadLettersRecovered)  # the codec's types
            alert = alert_of(notice)
            # "Now" is the notice's time: a retried batch decides the same.
            alerts = AlertCommands(replace(self._tickets, clock=_fixed(envelope.time)))
            command = RecordAlert(
                host=alert.host,
                check=alert.check,
                state=alert.state.value,
                summary=alert.summary,
                queue_id=queue_id_for(self._queue.name),
                severity=DEAD_LETTER_SEVERITY,
                occurred_at=envelope.time,
                category=DEAD_LETTER_CATEGORY,
                incident_id=str(uuid5(_INCIDENT_NAMESPACE, str(envelope.id))),
            )
            # A dead letter joins the case of the event it could not handle; a recovery
            # continues the case of the incident it resolves (both caused by the notice).
            with caused_by(envelope.cause):
                source, ticket = await alerts.record_in(uow, command)
            case = uow.case_of(ticket) if ticket is not None else None
            if case is not None and isinstance(notice, DeadLettersRecovered):
                stamp = _always(Cause(case, str(envelope.id)))
                for changed in (source, ticket):
                    if changed is not None:
                        changed.restamp(stamp)

    async def _ensure_queue(self) -> None:
        """The queue exists before an incident opens in it (idempotent; its own transaction,
        since the batch's unit of work reads the queue from the store)."""
        context = CommandContext.system("tickets-setup")
        await self._bus.execute(context, self._tickets.ensure_queue, self._queue)
        self._queue_ready = True


def _fixed(at: datetime) -> Clock:
    return lambda: at


def _always(cause: Cause) -> Callable[[DomainEvent], Cause]:
    return lambda _event: cause

"""Command handlers: load, call the domain, save; each in one unit of work.

The kernel's ``CommandBus`` runs a handler once per Idempotency-Key and reruns it on a
``ConcurrencyConflict`` (another command changed a stream this one read), a few times, before
answering 409. A client's stale ``If-Match`` version is not retried (412): it is the client's
decision that is out of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.errors import Conflict, DomainError, NotFound, PermissionDenied
from shared_kernel.eventstore import new_event_id
from shared_kernel.metrics import SLA_ALARMS
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from tickets.domain import (
    DEFAULT_MATRIX,
    PriorityMatrix,
    Queue,
    RoundRobin,
    Status,
    Ticket,
    TicketType,
    parse_status,
    queue_id_for,
    turns_stream_id,
)
from tickets.domain.events import SlaWarningRaised
from tickets.domain.sla import DEFAULT_SLA_POLICY, SlaPolicy

# Creations in one queue queue up on this lock before reading the round-robin turn instead of
# colliding and retrying; only an optimisation, stream versions decide. Lock order, always:
# an alert source (``alerts.ALERT_SOURCE_LOCK``) before a queue, so no deadlock.
QUEUE_LOCK = "tickets.queue"


# ------------------------------------------------------------------ commands


@dataclass(frozen=True)
class CreateQueue:
    name: str
    escalation_group: str
    sla_policy: SlaPolicy = DEFAULT_SLA_POLICY
    matrix: PriorityMatrix = DEFAULT_MATRIX
    auto_assign: bool = True
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddQueueMember:
    queue_id: str
    member: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RemoveQueueMember:
    queue_id: str
    member: str
    expected_version: int | None = None


@dataclass(frozen=True)
class SetMemberAvailability:
    queue_id: str
    member: str
    available: bool
    expected_version: int | None = None


@dataclass(frozen=True)
class OpenTicket:
    ticket_type: str
    queue_id: str
    impact: int
    urgency: int
    title: str
    description: str = ""
    category: str = ""
    configuration_item: str | None = None
    requester_kind: str = "person"  # "person" or "system"
    origin: dict[str, str] | None = None  # what opened it (say a risk limit breach)
    ticket_id: str | None = None  # None: a new id (an inbox derives one from its source)


@dataclass(frozen=True)
class ClassifyTicket:
    ticket_id: str
    impact: int | None
    urgency: int | None
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class TransitionTicket:
    ticket_id: str
    to: str
    reason: str
    resolve_linked_incidents: bool = False
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignTicket:
    """``assignee`` None: the caller takes the ticket."""

    ticket_id: str
    assignee: str | None
    expected_version: int | None = None


@dataclass(frozen=True)
class PostMessage:
    """A public reply (``internal`` False) or an internal note. ``as_agent``: the author
    works tickets (otherwise they must be the ticket's requester, and replies only)."""

    ticket_id: str
    body: str
    internal: bool
    as_agent: bool
    expected_version: int | None = None


@dataclass(frozen=True)
class RateTicket:
    """The requester's satisfaction with a resolved ticket. ``sees_every_ticket``: the
    caller reads all tickets (back office), so a refusal may say why instead of 404."""

    ticket_id: str
    rating: int
    comment: str
    sees_every_ticket: bool


@dataclass(frozen=True)
class LinkTickets:
    ticket_id: str
    kind: str
    target_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class MergeTicket:
    ticket_id: str
    survivor_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RaiseSlaAlarms:
    ticket_id: str


@dataclass
class TicketCommands:
    """The tickets service's command handlers, with their clock and settings."""

    clock: Clock = utc_now
    reopen_window: timedelta = timedelta(days=7)

    # -------------------------------------------------------------- queues

    async def create_queue(self, command: CreateQueue, uow: UnitOfWork) -> CommandResult:
        async with uow:
            if await uow.find(Queue, queue_id_for(command.name)) is not None:
                raise Conflict(
                    f"a queue named {command.name.strip()!r} exists already",
                    field="name",
                    code="QueueNameInUse",
                )
            queue = Queue.create(
                command.name,
                escalation_group=command.escalation_group,
                sla_policy=command.sla_policy,
                matrix=command.matrix,
                auto_assign=command.auto_assign,
            )
            for member in command.members:
                queue.add_member(member)
            uow.add(queue)
            return await uow.commit(queue)

    async def ensure_queue(self, command: CreateQueue, uow: UnitOfWork) -> CommandResult:
        """Create the queue unless one of that name exists (start-up default queue)."""
        try:
            return await self.create_queue(command, uow)
        except Conflict:
            return CommandResult(queue_id_for(command.name), 0, 0)

    async def add_queue_member(self, command: AddQueueMember, uow: UnitOfWork) -> CommandResult:
        async with uow:
            queue = await get_queue(uow, command.queue_id, command.expected_version)
            queue.add_member(command.member)
            return await uow.commit(queue)

    async def remove_queue_member(
        self, command: RemoveQueueMember, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            queue = await get_queue(uow, command.queue_id, command.expected_version)
            queue.remove_member(command.member)
            return await uow.commit(queue)

    async def set_member_availability(
        self, command: SetMemberAvailability, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            queue = await get_queue(uow, command.queue_id, command.expected_version)
            queue.set_availability(command.member, command.available)
            return await uow.commit(queue)

    # -------------------------------------------------------------- tickets

    async def open_ticket(self, command: OpenTicket, uow: UnitOfWork) -> CommandResult:
        async with uow:
            ticket = await self.open_in(uow, command)
            return await uow.commit(ticket)

    async def open_in(
        self,
        uow: UnitOfWork,
        command: OpenTicket,
        *,
        ticket_id: str | None = None,
        at: datetime | None = None,
        queue: Queue | None = None,
    ) -> Ticket:
        """Open a ticket inside ``uow`` and hand it to the member next in turn. An inbox
        gives the id (derived from its source event), the source's time and the queue it
        may just have created (not in the store yet)."""
        await uow.lock(QUEUE_LOCK, command.queue_id)
        if queue is None:
            queue = await get_queue(uow, command.queue_id, None, field="queue_id")
        turns = await uow.find_latest(RoundRobin, turns_stream_id(queue.id))
        at = at or self.clock()
        ticket = Ticket.open(
            ticket_id or command.ticket_id or str(new_event_id()),
            ticket_type=command.ticket_type,
            queue=queue,
            impact=command.impact,
            urgency=command.urgency,
            title=command.title,
            description=command.description,
            category=command.category,
            configuration_item=command.configuration_item,
            requester=uow.context.actor.subject,
            requester_kind=command.requester_kind,
            at=at,
            origin=command.origin,
        )
        member = turns.hand_out(queue, ticket.id)
        if member is not None:
            ticket.assign(member, how="round_robin", at=at)
        uow.add(ticket)
        return ticket

    async def classify_ticket(self, command: ClassifyTicket, uow: UnitOfWork) -> CommandResult:
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, command.expected_version)
            queue = await get_queue(uow, ticket.queue_id, None)
            with uow.continuing_case(ticket):
                ticket.classify(
                    queue.matrix,
                    impact=command.impact,
                    urgency=command.urgency,
                    reason=command.reason,
                    at=self.clock(),
                )
            return await uow.commit(ticket)

    async def transition_ticket(self, command: TransitionTicket, uow: UnitOfWork) -> CommandResult:
        target = parse_status(command.to)
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, command.expected_version)
            now = self.clock()
            with uow.continuing_case(ticket):
                ticket.transition(
                    target, reason=command.reason, at=now, reopen_window=self.reopen_window
                )
            if command.resolve_linked_incidents:
                await self._resolve_incidents_of(uow, ticket, command.reason, now)
            uow.add(ticket)
            return await uow.commit(ticket)

    async def _resolve_incidents_of(
        self, uow: UnitOfWork, problem: Ticket, reason: str, at: datetime
    ) -> None:
        if problem.ticket_type is not TicketType.PROBLEM or problem.status is not Status.RESOLVED:
            raise DomainError(
                "resolve_linked_incidents applies to a problem being resolved",
                field="resolve_linked_incidents",
                code="NotAProblemResolution",
            )
        incidents = await uow.find_many(Ticket, problem.linked("causes"))
        for incident in incidents.values():
            if incident.is_active:
                with uow.continuing_case(incident):
                    incident.transition(
                        Status.RESOLVED,
                        reason=f"problem {problem.id} resolved: {reason}",
                        at=at,
                        reopen_window=self.reopen_window,
                    )

    async def assign_ticket(self, command: AssignTicket, uow: UnitOfWork) -> CommandResult:
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, command.expected_version)
            assignee, how = uow.context.actor.subject, "take"
            if command.assignee is not None:
                queue = await get_queue(uow, ticket.queue_id, None)
                if not queue.is_member(command.assignee):
                    raise DomainError(
                        f"{command.assignee} is not a member of queue {queue.name}",
                        field="assignee",
                        code="NotAMember",
                    )
                assignee, how = command.assignee, "assign"
            with uow.continuing_case(ticket):
                ticket.assign(assignee, how=how, at=self.clock())
            return await uow.commit(ticket)

    async def post_message(self, command: PostMessage, uow: UnitOfWork) -> CommandResult:
        author = uow.context.actor.subject
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, None)
            if not command.as_agent and ticket.requester != author:
                raise NotFound(f"ticket {command.ticket_id} does not exist", field="ticket_id")
            # Only now: a stranger's stale If-Match must not learn that the ticket exists.
            check_version(ticket.version, command.expected_version, f"ticket {command.ticket_id}")
            message_id = str(new_event_id())
            with uow.continuing_case(ticket):
                if command.internal:
                    ticket.add_note(message_id, author=author, body=command.body, at=self.clock())
                else:
                    ticket.reply(
                        message_id,
                        author=author,
                        body=command.body,
                        by_agent=command.as_agent,
                        at=self.clock(),
                    )
            return await uow.commit(ticket)

    async def rate_ticket(self, command: RateTicket, uow: UnitOfWork) -> CommandResult:
        """The requester rates a resolved ticket (see ``Ticket.rate``). A caller who may not
        see the ticket gets 404, as for one that does not exist; one who may see it but did
        not request it (an agent) 403."""
        caller = uow.context.caller
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, None)
            if ticket.requester != caller.subject:
                if not command.sees_every_ticket:
                    raise NotFound(f"ticket {command.ticket_id} does not exist", field="ticket_id")
                raise PermissionDenied(
                    f"only the requester of ticket {command.ticket_id} may rate it",
                    code="RequesterOnly",
                )
            if not caller.is_person:
                raise PermissionDenied(
                    "a rating is a person's satisfaction; a system cannot give one",
                    code="PersonRequired",
                )
            with uow.continuing_case(ticket):
                ticket.rate(
                    command.rating,
                    command.comment,
                    rated_by=caller.subject,
                    at=self.clock(),
                    reopen_window=self.reopen_window,
                )
            return await uow.commit(ticket)

    async def link_tickets(self, command: LinkTickets, uow: UnitOfWork) -> CommandResult:
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, command.expected_version)
            target = await get_ticket(uow, command.target_id, None, field="target_id")
            with uow.continuing_case(ticket):
                ticket.link(command.kind, target, at=self.clock())
            uow.add(target)
            return await uow.commit(ticket)

    async def merge_ticket(self, command: MergeTicket, uow: UnitOfWork) -> CommandResult:
        async with uow:
            duplicate = await get_ticket(uow, command.ticket_id, command.expected_version)
            survivor = await get_ticket(uow, command.survivor_id, None, field="survivor_id")
            with uow.continuing_case(duplicate):
                duplicate.merge_into(survivor, reason=command.reason, at=self.clock())
            uow.add(survivor)
            return await uow.commit(duplicate)

    # -------------------------------------------------------------- SLA

    async def raise_sla_alarms(self, command: RaiseSlaAlarms, uow: UnitOfWork) -> CommandResult:
        """Record the SLA warnings and breaches due now; on a breach, escalate to the queue's
        escalation group and raise the priority one step. Nothing due: nothing written, and the
        answer's position is 0."""
        async with uow:
            ticket = await get_ticket(uow, command.ticket_id, None)
            now = self.clock()
            with uow.continuing_case(ticket):
                breaches = ticket.raise_due_alarms(now)
            if not ticket.pending_events():
                return CommandResult(ticket.id, ticket.version, position=0)
            warnings = sum(isinstance(e, SlaWarningRaised) for e in ticket.pending_events())
            if breaches:
                queue = await get_queue(uow, ticket.queue_id, None)
                clocks = " and ".join(b.clock.replace("_", " ") for b in breaches)
                with uow.continuing_case(ticket):
                    ticket.escalate(
                        queue.escalation_group, reason=f"SLA breached: {clocks} target", at=now
                    )
            result = await uow.commit(ticket)
            # Counted once committed: a command rerun after a conflict counts only its last run.
            SLA_ALARMS.labels("tickets", "breach").inc(len(breaches))
            SLA_ALARMS.labels("tickets", "warning").inc(warnings)
            return result


async def get_queue(
    uow: UnitOfWork, queue_id: str, expected_version: int | None, *, field: str = "queue_id"
) -> Queue:
    queue = await uow.find(Queue, queue_id)
    if queue is None or not queue.exists:
        raise NotFound(f"queue {queue_id} does not exist", field=field)
    check_version(queue.version, expected_version, f"queue {queue.name}")
    return queue


async def get_ticket(
    uow: UnitOfWork, ticket_id: str, expected_version: int | None, *, field: str = "ticket_id"
) -> Ticket:
    ticket = await uow.find(Ticket, ticket_id)
    if ticket is None or not ticket.exists:
        raise NotFound(f"ticket {ticket_id} does not exist", field=field)
    check_version(ticket.version, expected_version, f"ticket {ticket_id}")
    return ticket

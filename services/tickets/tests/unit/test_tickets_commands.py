"""The tickets service's command handlers on the kernel's in-memory backend: the round-robin
turn (folded from its stream's last event) hands new tickets out in turn, and a stale
If-Match version is refused without storing anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shared_kernel.commands import CommandBus, PreconditionFailed
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext
from tickets.app.commands import AddQueueMember, CreateQueue, OpenTicket, TicketCommands
from tickets.bootstrap import tickets_codec
from tickets.domain import Ticket

pytestmark = pytest.mark.unit

CODEC = tickets_codec()  # built once: building a codec takes a moment
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
AGENT = CommandContext(Caller("user:agent", {Role.IT_SUPPORT}, "back"))


async def queue_of(
    members: tuple[str, ...],
) -> tuple[TicketCommands, CommandBus, InMemoryBackend, str]:
    backend = InMemoryBackend(CODEC, source="/tickets")
    commands, bus = TicketCommands(clock=lambda: NOW), CommandBus(backend.make_uow)
    queue = await bus.execute(
        AGENT, commands.create_queue, CreateQueue("Service desk", "managers", members=members)
    )
    return commands, bus, backend, queue.aggregate_id


def incident(queue_id: str, title: str) -> OpenTicket:
    return OpenTicket("incident", queue_id, impact=2, urgency=2, title=title)


async def test_new_tickets_are_handed_to_the_members_in_turn() -> None:
    commands, bus, backend, queue_id = await queue_of(("user:anna", "user:bert"))

    opened = [
        await bus.execute(AGENT, commands.open_ticket, incident(queue_id, f"printer {n}"))
        for n in range(3)
    ]

    async with backend.make_uow(AGENT) as uow:
        tickets = [await uow.get(Ticket, result.aggregate_id) for result in opened]
    assert [t.assignee for t in tickets] == ["user:anna", "user:bert", "user:anna"]


async def test_a_stale_version_is_refused_and_nothing_is_stored() -> None:
    commands, bus, backend, queue_id = await queue_of(("user:anna",))
    before = len(backend.events())

    with pytest.raises(PreconditionFailed):
        await bus.execute(
            AGENT,
            commands.add_queue_member,
            AddQueueMember(queue_id, "user:bert", expected_version=99),
        )

    assert len(backend.events()) == before

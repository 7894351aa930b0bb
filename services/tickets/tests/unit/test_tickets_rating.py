"""Customer satisfaction: the requester (a person) rates a resolved ticket once, 1 to 5, until
the reopen window closes; the rating names the queue and the agent who resolved it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shared_kernel.commands import CommandBus
from shared_kernel.errors import Conflict, DomainError, NotFound, PermissionDenied
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext
from tickets.app.commands import (
    CreateQueue,
    OpenTicket,
    RateTicket,
    TicketCommands,
    TransitionTicket,
)
from tickets.bootstrap import tickets_codec
from tickets.domain import Status
from tickets.domain.events import TicketRated

from .tickets_fixtures import MONDAY_9_BERLIN, new_ticket, walk_to

pytestmark = pytest.mark.unit

CODEC = tickets_codec()
WINDOW = timedelta(days=7)
TRADER = CommandContext(Caller("user:tina", {Role.TRADER}, "front"))
OTHER_TRADER = CommandContext(Caller("user:tom", {Role.TRADER}, "front"))
AGENT = CommandContext(Caller("user:anna", {Role.IT_SUPPORT}, "back"))


def test_the_requester_rates_a_resolved_ticket_for_its_queue_and_agent() -> None:
    ticket = new_ticket()
    ticket.assign("user:anna", how="assign", at=MONDAY_9_BERLIN)
    walk_to(ticket, Status.RESOLVED, at=MONDAY_9_BERLIN + timedelta(hours=2))
    ticket.assign("user:bert", how="assign", at=MONDAY_9_BERLIN + timedelta(hours=3))

    ticket.rate(
        4,
        " quick fix ",
        rated_by="user:tina",
        at=MONDAY_9_BERLIN + timedelta(days=1),
        reopen_window=WINDOW,
    )

    rated = ticket.pending_events()[-1]
    assert rated == TicketRated(
        ticket_id="t-1",
        rating=4,
        comment="quick fix",
        rated_by="user:tina",
        queue_id=ticket.queue_id,
        agent="user:anna",  # who resolved it, not who holds it now
        at=MONDAY_9_BERLIN + timedelta(days=1),
    )
    assert ticket.rating == 4


@pytest.mark.parametrize("rating", [0, 6, -1, True])
def test_a_rating_is_1_to_5(rating: int) -> None:
    ticket = new_ticket()
    walk_to(ticket, Status.RESOLVED, at=MONDAY_9_BERLIN)
    with pytest.raises(DomainError) as refused:
        ticket.rate(rating, "", rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    assert refused.value.status == 422 and refused.value.field == "rating"


def test_a_comment_has_a_maximum_length() -> None:
    ticket = new_ticket()
    walk_to(ticket, Status.RESOLVED, at=MONDAY_9_BERLIN)
    with pytest.raises(DomainError) as refused:
        ticket.rate(3, "x" * 2001, rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    assert refused.value.field == "comment"


@pytest.mark.parametrize("status", [Status.OPEN, Status.PENDING, Status.CLOSED, Status.CANCELLED])
def test_only_a_resolved_ticket_can_be_rated(status: Status) -> None:
    ticket = walk_to(new_ticket(), status, at=MONDAY_9_BERLIN)
    with pytest.raises(Conflict) as refused:
        ticket.rate(5, "", rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    assert refused.value.code == "TicketNotResolved"


def test_the_rating_window_is_the_reopen_window() -> None:
    ticket = walk_to(new_ticket(), Status.RESOLVED, at=MONDAY_9_BERLIN)
    with pytest.raises(Conflict) as refused:
        ticket.rate(
            5,
            "",
            rated_by="user:tina",
            at=MONDAY_9_BERLIN + WINDOW + timedelta(seconds=1),
            reopen_window=WINDOW,
        )
    assert refused.value.code == "RatingWindowClosed"
    ticket.rate(5, "", rated_by="user:tina", at=MONDAY_9_BERLIN + WINDOW, reopen_window=WINDOW)


def test_a_ticket_is_rated_once_even_after_reopening() -> None:
    ticket = walk_to(new_ticket(), Status.RESOLVED, at=MONDAY_9_BERLIN)
    ticket.rate(2, "", rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    with pytest.raises(Conflict) as refused:
        ticket.rate(5, "", rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    assert refused.value.code == "AlreadyRated"
    ticket.transition(Status.OPEN, reason="again", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    ticket.transition(Status.RESOLVED, reason="fixed", at=MONDAY_9_BERLIN, reopen_window=WINDOW)
    with pytest.raises(Conflict):
        ticket.rate(5, "", rated_by="user:tina", at=MONDAY_9_BERLIN, reopen_window=WINDOW)


async def _resolved_ticket_of_tina() -> tuple[TicketCommands, CommandBus, InMemoryBackend, str]:
    backend = InMemoryBackend(CODEC, source="/tickets")
    commands, bus = TicketCommands(clock=lambda: MONDAY_9_BERLIN), CommandBus(backend.make_uow)
    queue = await bus.execute(
        AGENT, commands.create_queue, CreateQueue("desk", "managers", members=("user:anna",))
    )
    opened = await bus.execute(
        TRADER, commands.open_ticket, OpenTicket("incident", queue.aggregate_id, 3, 3, "VPN")
    )
    await bus.execute(
        AGENT, commands.transition_ticket, TransitionTicket(opened.aggregate_id, "resolved", "ok")
    )
    return commands, bus, backend, opened.aggregate_id


async def test_the_requester_rates_and_the_rating_continues_the_ticket_case() -> None:
    commands, bus, backend, ticket_id = await _resolved_ticket_of_tina()

    await bus.execute(TRADER, commands.rate_ticket, RateTicket(ticket_id, 5, "great", False))

    ticket_events = [e for e in backend.events() if e.subject == ticket_id]
    rated = ticket_events[-1]
    assert rated.event_type == "tickets.TicketRated"
    assert rated.data["agent"] == "user:anna" and rated.data["rated_by"] == "user:tina"
    assert rated.correlation_id == ticket_events[0].correlation_id
    assert rated.causation_id == TRADER.correlation_id


async def test_only_the_requester_rates() -> None:
    commands, bus, backend, ticket_id = await _resolved_ticket_of_tina()
    before = len(backend.events())

    with pytest.raises(NotFound):  # a stranger in the front office does not see it
        await bus.execute(OTHER_TRADER, commands.rate_ticket, RateTicket(ticket_id, 1, "", False))
    with pytest.raises(PermissionDenied):  # the back office sees it, but did not request it
        await bus.execute(AGENT, commands.rate_ticket, RateTicket(ticket_id, 1, "", True))
    system = CommandContext(Caller("user:tina", {Role.TRADER}, "front", kind="system"))
    with pytest.raises(PermissionDenied):  # a system under the same name is no person
        await bus.execute(system, commands.rate_ticket, RateTicket(ticket_id, 1, "", False))

    assert len(backend.events()) == before

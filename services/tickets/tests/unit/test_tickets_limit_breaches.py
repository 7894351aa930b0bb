"""Breach -> incident on the kernel's in-memory backend: a risk limit breach opens one
incident in the risk-limits queue (whatever is replayed), with its priority from how far the
exposure is over the limit; measures recorded on the breach become internal notes (also when
they arrive first); back within the limit resolves the incident with a note. Every effect
joins the breach's case, and later commands on the incident continue it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from shared_kernel.commands import CommandBus
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext
from tickets.app.commands import PostMessage, TicketCommands
from tickets.app.limit_breaches import LimitBreachIncidents
from tickets.bootstrap import tickets_codec
from tickets.domain import DEFAULT_MATRIX, Queue, Status, Ticket, queue_id_for
from tickets.domain.limit_breaches import breach_classification, incident_id_for

pytestmark = pytest.mark.unit

CODEC = tickets_codec()  # built once: building a codec takes a moment
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
INBOX = CommandContext.system("tickets-limit_breach_incidents")
AGENT = CommandContext(Caller("user:agent", {Role.IT_SUPPORT}, "back"))
LIMIT, EXPOSURE = "limit-acme", "exposure-acme-eur"


class Risk:
    """Risk events as the risk service's relay publishes them (one case per breach)."""

    def __init__(self) -> None:
        self.position = 0
        self.case = str(uuid4())

    def event(self, name: str, subject: str, **data: Any) -> EventEnvelope:
        self.position += 1
        return EventEnvelope(
            id=uuid4(),
            source="/risk",
            type=f"risk.{name}.v1",
            subject=subject,
            time=T0 + timedelta(minutes=self.position),
            data=data,
            stream_type="exposure",
            stream_version=self.position,
            position=self.position,
            correlation_id=self.case,
            causation_id=str(uuid4()),
            actor=Actor("system:risk-ledger_exposures", "system"),
        )

    def crossing(
        self, name: str, exposure: int, limit: int = 1_000_000, **extra: Any
    ) -> EventEnvelope:
        return self.event(
            name,
            EXPOSURE,
            crossing_id=str(uuid4()),
            limit_id=extra.pop("limit_id", LIMIT),
            limit_version=1,
            exposure_id=extra.pop("exposure_id", EXPOSURE),
            dimension="counterparty",
            counterparty="ACME",
            desk=None,
            currency="EUR",
            exposure=exposure,
            limit_amount=limit,
            warning_threshold_bp=8000,
            utilisation_bp=exposure * 10_000 // limit,
            state="breached",
            cause="entry",
            cause_id="entry-1",
            at=(T0 + timedelta(minutes=self.position)).isoformat(),
            **extra,
        )

    def breached(self, exposure: int, **extra: Any) -> EventEnvelope:
        return self.crossing("LimitBreached", exposure, **extra)

    def back_within(self, exposure: int, threshold: str = "limit", **extra: Any) -> EventEnvelope:
        return self.crossing("LimitBackWithinThreshold", exposure, threshold=threshold, **extra)

    def measures(self, breach: EventEnvelope, measures: str, by: str) -> EventEnvelope:
        return self.event(
            "LimitBreachMeasuresRecorded",
            f"breach:{breach.data['crossing_id']}",
            breach_id=breach.data["crossing_id"],
            limit_id=breach.data["limit_id"],
            measures=measures,
            recorded_by=by,
            at=T0.isoformat(),
        )


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend(CODEC, source="/tickets")


@pytest.fixture
def inbox() -> LimitBreachIncidents:
    return LimitBreachIncidents(TicketCommands(clock=lambda: T0))


async def handle(
    inbox: LimitBreachIncidents, backend: InMemoryBackend, *batch: EventEnvelope
) -> None:
    """One batch in one unit of work, committed as the inbox runner commits it."""
    async with backend.make_uow(INBOX) as uow:
        await inbox.handle(uow, inbox.codec.read_all(batch))
        await uow.commit()


async def incident(backend: InMemoryBackend, breach: EventEnvelope) -> Ticket:
    async with backend.make_uow(INBOX) as uow:
        return await uow.get(Ticket, incident_id_for(breach.data["crossing_id"]))


def stored(backend: InMemoryBackend, stream_id: str) -> list[EventEnvelope]:
    return [e for e in backend.events() if e.subject == stream_id]


def notes(backend: InMemoryBackend, ticket_id: str) -> list[dict[str, Any]]:
    return [e.data for e in stored(backend, ticket_id) if e.event_type == "tickets.TicketNoteAdded"]


async def test_a_breach_opens_one_incident_in_the_risk_limits_queue(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)

    await handle(inbox, backend, breach)

    ticket = await incident(backend, breach)
    assert ticket.queue_id == queue_id_for("risk-limits")
    assert ticket.ticket_type.value == "incident" and ticket.status is Status.NEW
    assert ticket.priority == 2  # 130 % of the limit
    assert "ACME" in ticket.title and "EUR" in ticket.title
    assert ticket.origin == {
        "service": "risk",
        "kind": "limit_breach",
        "id": breach.data["crossing_id"],
        "limit_id": LIMIT,
        "exposure_id": EXPOSURE,
    }
    opened = stored(backend, ticket.id)[0]
    assert "1,300,000 EUR" in opened.data["description"]
    assert "1,000,000 EUR" in opened.data["description"]
    assert opened.data["opened_at"] == breach.data["at"].replace("+00:00", "Z")
    async with backend.make_uow(INBOX) as uow:
        queue = await uow.get(Queue, queue_id_for("risk-limits"))
    assert queue.name == "risk-limits"


async def test_replaying_the_breach_opens_no_second_incident(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)
    second = risk.breached(1_100_000)
    await handle(inbox, backend, breach, breach)

    await handle(inbox, backend, breach)  # a replay that found no inbox claim
    await handle(inbox, backend, breach, second)

    opened = [e.subject for e in backend.events() if e.event_type == "tickets.TicketOpened"]
    assert opened == [  # the replays none; the second breach its own
        incident_id_for(breach.data["crossing_id"]),
        incident_id_for(second.data["crossing_id"]),
    ]


@pytest.mark.parametrize(
    ("utilisation_bp", "priority"),
    [(10_001, 3), (11_999, 3), (12_000, 2), (14_999, 2), (15_000, 1), (40_000, 1)],
)
def test_the_priority_follows_how_far_over_the_limit(utilisation_bp: int, priority: int) -> None:
    impact, urgency = breach_classification(utilisation_bp)
    assert DEFAULT_MATRIX.priority(impact, urgency) == priority


async def test_measures_become_internal_notes_by_the_recording_user(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_600_000)
    await handle(inbox, backend, breach)

    measures = risk.measures(breach, "Counterparty asked to post collateral", "user:rita")
    await handle(inbox, backend, measures)
    await handle(inbox, backend, measures)  # replayed: the same note, not a second

    ticket_id = incident_id_for(breach.data["crossing_id"])
    assert [(n["author"], n["body"].splitlines()[-1]) for n in notes(backend, ticket_id)] == [
        ("user:rita", "Counterparty asked to post collateral")
    ]
    note_event = stored(backend, ticket_id)[-1]
    assert note_event.actor.subject == "system:tickets-limit_breach_incidents"
    assert (await incident(backend, breach)).priority == 1


async def test_measures_arriving_before_their_breach_are_noted_when_it_opens(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)
    measures = risk.measures(breach, "Desk told to stop trading ACME", "user:rita")

    await handle(inbox, backend, measures)
    assert notes(backend, incident_id_for(breach.data["crossing_id"])) == []
    await handle(inbox, backend, breach)

    found = notes(backend, incident_id_for(breach.data["crossing_id"]))
    assert [n["author"] for n in found] == ["user:rita"]
    assert "Desk told to stop trading ACME" in found[0]["body"]


async def test_back_within_the_limit_resolves_the_incident_with_a_note(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)
    await handle(inbox, backend, breach)

    await handle(inbox, backend, risk.back_within(700_000, threshold="warning"))
    assert (await incident(backend, breach)).status is Status.NEW
    await handle(inbox, backend, risk.back_within(900_000, exposure_id="other-exposure"))
    assert (await incident(backend, breach)).status is Status.NEW
    back = risk.back_within(900_000)
    await handle(inbox, backend, back)
    await handle(inbox, backend, back)  # replayed: nothing more

    ticket = await incident(backend, breach)
    assert ticket.status is Status.RESOLVED
    assert [n["body"] for n in notes(backend, ticket.id)] == [
        "back within limit: exposure 900,000 EUR of 1,000,000 EUR"
    ]
    # A new breach of the same limit is a new incident.
    again = risk.breached(1_100_000)
    await handle(inbox, backend, again)
    assert (await incident(backend, again)).status is Status.NEW


async def test_a_breach_and_its_end_in_one_batch(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)

    await handle(inbox, backend, breach, risk.back_within(500_000))

    assert (await incident(backend, breach)).status is Status.RESOLVED


async def test_effects_join_the_breach_case_and_commands_continue_it(
    backend: InMemoryBackend, inbox: LimitBreachIncidents
) -> None:
    risk = Risk()
    breach = risk.breached(1_300_000)
    measures = risk.measures(breach, "Limit increase requested", "user:rita")
    await handle(inbox, backend, breach)
    await handle(inbox, backend, measures)
    ticket_id = incident_id_for(breach.data["crossing_id"])

    agent_request = CommandContext(AGENT.caller, correlation_id="request-of-the-agent")
    await CommandBus(backend.make_uow).execute(
        agent_request,
        TicketCommands(clock=lambda: T0).post_message,
        PostMessage(ticket_id, "Called the desk", internal=True, as_agent=True),
    )

    events = stored(backend, ticket_id)
    assert {e.correlation_id for e in events} == {risk.case}
    causes = [e.causation_id for e in events]
    assert causes[0] == str(breach.id)
    assert causes[-2] == str(measures.id)
    assert causes[-1] == "request-of-the-agent"


async def test_malformed_risk_events_are_refused_by_the_codec(
    inbox: LimitBreachIncidents,
) -> None:
    broken = Risk().event("LimitBreached", EXPOSURE, crossing_id="", limit_id=LIMIT)
    with pytest.raises(ValueError):
        inbox.codec.read(broken)

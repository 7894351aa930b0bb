"""The tickets view applies a batch exactly as it applies the same events one at a time:
a mixed history of queues and tickets (every ticket event type, reopenings, merges, links,
alerts, SLA alarms with escalations, ratings, origins, events of a ticket without a row and replayed
``TicketOpened``/``QueueCreated``) gives the same rows whether applied event by event, in
batches of a few dozen (tickets that exist and tickets opened within a batch) or in one."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from shared_kernel.db import create_engine
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import DomainError
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from tickets.bootstrap import TicketsSettings
from tickets.domain import Queue, Status, Ticket
from tickets.domain.sla import DEFAULT_SLA_POLICY
from tickets.projections.tables import (
    queues,
    ticket_links,
    ticket_messages,
    ticket_ratings,
    tickets,
)
from tickets.projections.tickets_view import TicketsView

from .tickets_history import History

pytestmark = pytest.mark.integration

WINDOW = timedelta(days=7)
TICKETS = 60


def history() -> list[EventEnvelope]:
    rng = random.Random(11)
    made = History()
    desks = [
        Queue.create(name, escalation_group="it-managers", sla_policy=DEFAULT_SLA_POLICY)
        for name in ("service-desk", "network")
    ]
    for desk in desks:
        made.emit(desk)
        for n in range(3):
            desk.add_member(f"user:{desk.name}-{n}")
            made.emit(desk)
    opened: list[Ticket] = []
    for number in range(TICKETS):
        made.now += timedelta(minutes=rng.randrange(1, 90))
        desk = desks[number % 2]
        ticket = Ticket.open(
            f"t{number:03d}",
            ticket_type=("incident", "service_request", "problem")[number % 3],
            queue=desk,
            impact=rng.randrange(1, 5),
            urgency=rng.randrange(1, 5),
            title=f"VPN drops number {number}",
            description="Since this morning.",
            category="network",
            configuration_item=f"host-{number % 7}" if number % 4 else None,
            requester="user:tina",
            requester_kind="person",
            at=made.now,
            origin={"service": "risk", "kind": "limit_breach", "id": f"b{number}"}
            if number % 5 == 0
            else None,
        )
        made.emit(ticket)
        opened.append(ticket)
        if number % 17 == 5:  # queue changes among the ticket events
            desk.set_availability(desk.members[1], number % 2 == 0)
            made.emit(desk)
        for _ in range(rng.randrange(0, 3)):
            act(rng, made, rng.choice(opened), opened, desks)
    for _ in range(6 * TICKETS):
        act(rng, made, rng.choice(opened), opened, desks)
    for ticket in opened:  # the requester rates what is resolved (some were rated already)
        if ticket.status is Status.RESOLVED and ticket.rating is None:
            ticket.rate(
                rng.randrange(1, 6),
                "",
                rated_by="user:tina",
                at=made.now,
                reopen_window=timedelta(days=365),
            )
            made.emit(ticket)
    desks[1].remove_member(desks[1].members[0])
    made.emit(desks[1])
    envelopes = made.envelopes
    # A ticket whose opening is missing (its later events find no row) ...
    orphan = next(e for e in envelopes if e.subject == "t007" and e.stream_version == 1)
    envelopes.remove(orphan)
    # ... and openings delivered again later on.
    envelopes.insert(len(envelopes) * 3 // 4, envelopes[0])
    replayed = next(e for e in envelopes if e.subject == "t011" and e.stream_version == 1)
    envelopes.insert(len(envelopes) * 2 // 3, replayed)
    return envelopes


def act(
    rng: random.Random, made: History, ticket: Ticket, all_: list[Ticket], desks: list[Queue]
) -> None:
    """One random thing done to ``ticket`` some minutes later (refused ones are skipped)."""
    made.now += timedelta(minutes=rng.randrange(1, 240))
    at = made.now
    desk = desks[0] if ticket.queue_id == desks[0].id else desks[1]
    other = rng.choice(all_)
    kind = rng.randrange(15)
    try:
        if kind == 0:
            ticket.assign(rng.choice(desk.members), how="assign", at=at)
        elif kind == 1:
            ticket.classify(
                desk.matrix, impact=rng.randrange(1, 5), urgency=None, reason="worse", at=at
            )
        elif kind in (2, 3):
            ticket.transition(rng.choice(list(Status)), reason="work", at=at, reopen_window=WINDOW)
        elif kind == 4:
            ticket.reply(str(uuid4()), author="user:agent", body="on it", by_agent=True, at=at)
        elif kind == 5:
            ticket.reply(str(uuid4()), author="user:tina", body="thanks", by_agent=False, at=at)
        elif kind == 6:
            ticket.add_note(str(uuid4()), author="user:agent", body="internal", at=at)
        elif kind == 7:
            ticket.record_alert(
                host="host-1",
                check="ping",
                state="firing",
                summary="down",
                severity="critical",
                occurred_at=at,
                at=at,
            )
        elif kind == 8:
            ticket.link(rng.choice(("parent_of", "child_of", "duplicate_of")), other, at=at)
        elif kind == 9:
            ticket.merge_into(other, reason="same thing", at=at)
        elif kind == 10:
            ticket.rate(
                rng.randrange(1, 6), "ok", rated_by="user:tina", at=at, reopen_window=WINDOW
            )
        else:  # the scheduler: alarms due by now, escalation on a breach
            made.now += timedelta(hours=rng.randrange(1, 30))
            if ticket.raise_due_alarms(made.now):
                ticket.escalate(desk.escalation_group, reason="SLA breached", at=made.now)
    except DomainError:
        return
    made.emit(ticket, other)


async def contents(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in (tickets, queues, ticket_messages, ticket_links, ticket_ratings):
        keys = [c for c in table.primary_key.columns]
        rows = (await conn.execute(sa.select(table).order_by(*keys))).all()
        found[table.name] = [tuple(r) for r in rows]
    return found


async def test_batches_give_the_same_rows_as_one_event_at_a_time(
    tickets_settings: TicketsSettings,
) -> None:
    envelopes = history()
    types = {e.event_type for e in envelopes}
    assert len(types) >= 17, sorted(types)  # nearly every event type the view handles
    view = TicketsView()
    engine = create_engine(tickets_settings.database_url)
    store = ReadModelStore(engine, view.name, view.metadata)
    by_size = {1: 11, 23: 12, len(envelopes): 13}  # batch size -> generation
    try:
        for generation in by_size.values():
            await store.create_generation(generation)
        results = []
        for size, generation in by_size.items():
            async with engine.begin() as raw:
                conn = await raw.execution_options(
                    schema_translate_map={READ_MODEL_SCHEMA: store.schema(generation)}
                )
                for start in range(0, len(envelopes), size):
                    chunk = envelopes[start : start + size]
                    if size == 1:
                        await view.apply(conn, chunk[0])
                    else:
                        await view.apply_batch(conn, chunk)
                results.append(await contents(conn))
    finally:
        await store.drop_generations_except(set())
        await engine.dispose()

    one_by_one, in_batches, in_one = results
    assert len(one_by_one["tickets"]) == TICKETS - 1  # the orphan has no row
    assert len(one_by_one["queues"]) == 2
    assert len(one_by_one["ticket_messages"]) > 50
    assert len(one_by_one["ticket_links"]) > 10
    assert len(one_by_one["ticket_ratings"]) > 3
    origin_id = [c.name for c in tickets.c].index("origin_id")
    assert sum(row[origin_id] is not None for row in one_by_one["tickets"]) > 5
    assert in_batches == one_by_one
    assert in_one == one_by_one

"""Paging through the ticket list, newest first, the same whichever index serves it: the
filters with an index of their own (queue, assignee, requester, q) order by position, the
others (none, status, priority, sla) by the index on -position. Read with the service's
queries from a live generation the view wrote."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shared_kernel.db import create_engine
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from tickets.app.queries import TicketFilter, TicketQueries
from tickets.bootstrap import TicketsSettings
from tickets.domain import Queue, Status, Ticket
from tickets.domain.sla import DEFAULT_SLA_POLICY
from tickets.projections.tickets_view import TicketsView

from .tickets_history import History

pytestmark = pytest.mark.integration


async def every_page(queries: TicketQueries, where: TicketFilter) -> list[list[str]]:
    """The ids on each page of the list, three tickets a page."""
    found: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await queries.tickets(where, cursor, 3)
        found.append([t["ticket_id"] for t in page.items])
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def test_pages_are_newest_first_with_and_without_an_indexed_filter(
    tickets_settings: TicketsSettings,
) -> None:
    made = History()
    desks = [
        Queue.create(name, escalation_group="it-managers", sla_policy=DEFAULT_SLA_POLICY)
        for name in ("service-desk", "network")
    ]
    made.emit(*desks)
    opened: list[Ticket] = []
    for number in range(8):
        made.now += timedelta(minutes=5)
        ticket = Ticket.open(
            f"t{number}",
            ticket_type="incident",
            queue=desks[number % 2],
            impact=3,
            urgency=3,
            title="Printer jams",
            description="",
            category="",
            configuration_item=None,
            requester="user:tina",
            requester_kind="person",
            at=made.now,
        )
        made.emit(ticket)
        opened.append(ticket)
    worked = opened[1::3]  # worked on later: their rows move up in position
    for ticket in worked:
        ticket.transition(Status.OPEN, reason="on it", at=made.now, reopen_window=timedelta(1))
        made.emit(ticket)

    view = TicketsView()
    engine = create_engine(tickets_settings.database_url)
    store = ReadModelStore(engine, view.name, view.metadata)
    try:
        live = await store.ensure_live()
        async with engine.begin() as raw:
            conn = await raw.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: store.schema(live)}
            )
            await view.apply_batch(conn, made.envelopes)
        queries = TicketQueries(store)
        everything = (await queries.tickets(TicketFilter(), None, 500)).items
        unfiltered = await every_page(queries, TicketFilter())
        one_queue = await every_page(queries, TicketFilter(queue_id=desks[0].id))
        new = await every_page(queries, TicketFilter(status="new"))
        new_in_queue = await every_page(queries, TicketFilter(status="new", queue_id=desks[0].id))
        by_requester = await every_page(queries, TicketFilter(requester="user:tina"))
    finally:
        await engine.dispose()

    newest_first = [t["ticket_id"] for t in everything]
    positions = [t["position"] for t in everything]
    assert positions == sorted(positions, reverse=True)
    assert newest_first[:3] == [t.id for t in reversed(worked)]
    assert sorted(newest_first) == sorted(t.id for t in opened)

    def flat(pages: list[list[str]]) -> list[str]:
        return [ticket_id for page in pages for ticket_id in page]

    assert [len(page) for page in unfiltered] == [3, 3, 2]
    assert flat(unfiltered) == newest_first
    assert by_requester == unfiltered
    in_queue = {t.id for t in opened if t.queue_id == desks[0].id}
    assert flat(one_queue) == [i for i in newest_first if i in in_queue]
    not_worked = [i for i in newest_first if i not in {t.id for t in worked}]
    assert flat(new) == not_worked
    assert flat(new_in_queue) == [i for i in not_worked if i in in_queue]

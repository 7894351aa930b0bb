"""Tickets (issue 5) at scale: the queue view with filters over ``TICKETS`` open tickets, and
the SLA scheduler's sweep over them.

The tickets service runs as a real uvicorn process (``bench_http.stack``) with its SLA
scheduler, relay and projection off: the sweeps here run with a clock of their own, and the
read model is filled by the bench (below). Its queues are created over HTTP; then ``TICKETS``
tickets are built with the tickets domain exactly as the commands build them
(``Ticket.open``, the round-robin assignment, work started, first replies, some waiting for
the requester, and every SLA warning and breach due before ``T0`` raised with its escalation,
as the scheduler would have), encoded with the tickets codec and appended in bulk through the
kernel's event store into the service's own database.

The read model: the service's projection (``TicketsView``) writes row by row, a few hundred
events per second on this machine (measured below on a sample), far too slow to catch up with
~500,000 events within a benchmark. So the bench writes the ``tickets`` rows of the live
generation itself, in bulk, folding each ticket's events with the domain's own ``fold_sla``
and the projection's column rules, and checks them against what ``TicketsView.apply_batch``
writes for a sample of the same events (any difference is printed as a WARNING).

- Queue view: ``GET /v1/tickets`` with several filter mixes (queue, status, priority,
  assignee, sla=at_risk, full-text ``q``), ``REQUESTS`` sequential requests each after a
  warm-up, p50 and p99 (target p99 under 200 ms).
- SLA sweep: ``SlaScheduler.sweep_once`` of the service, in this process against the same
  database, with the clock at ``T0`` (nothing due: the read-model query alone) and at the
  instant when ``DUE`` tickets have an alarm due (their commands too).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from bench_common import Report, Result, kafka_bootstrap, metadata, percentile
from bench_figures import Goal
from bench_http import Service, Skip, Stack, stack
from bench_tickets import agent_names, create_queue
from shared_kernel.db import create_engine
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import (
    EventStore,
    NewEvent,
    PostgresEventStore,
    StreamAppend,
    new_event_id,
)
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from sqlalchemy.ext.asyncio import AsyncEngine
from tickets.bootstrap import TicketsSettings, bootstrap, tickets_codec
from tickets.domain import Queue, Status, Ticket, fold_sla
from tickets.domain import events as ev
from tickets.domain.sla import DEFAULT_SLA_POLICY
from tickets.domain.sla_state import CLOCKS, TicketSla
from tickets.projections.tables import ticket_messages
from tickets.projections.tables import tickets as tickets_table
from tickets.projections.tickets_view import TicketsView

TICKETS = 100_000
# Queue name -> share of the tickets.
QUEUES = {"service-desk": 0.6, "network": 0.2, "applications": 0.12, "workplace": 0.08}
AGENTS = 8
REQUESTS = 100
WARM_UP = 10
VIEW_TARGET_MS = 200.0
DUE = 300
# A Wednesday, 14:00 in Berlin: inside the default calendar's business hours.
T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
MEAN_AGE = timedelta(days=1)
MAX_AGE = timedelta(days=20)
REOPEN_WINDOW = timedelta(days=7)
STREAMS_PER_APPEND = 1000
SAMPLE = 1000  # events applied with the service's own projection, to check the bulk rows
# The service without the loops this bench replaces or drives itself.
QUIET = {"RUN_SLA_SCHEDULER": "false", "RUN_RELAY": "false", "RUN_PROJECTIONS": "false"}
Row = dict[str, Any]


@dataclass
class Filled:
    """What the generated tickets look like, for choosing filters and the sweep clock."""

    events: int = 0
    next_alarms: list[datetime] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0
    breached: int = 0


def bench_queue(name: str) -> Queue:
    """The queue as ``create_queue`` makes it over HTTP (same name, so the same id; the
    default SLA policy and matrix), with its agents."""
    queue = Queue.create(name, escalation_group="it-managers", sla_policy=DEFAULT_SLA_POLICY)
    for member in agent_names(name, AGENTS):
        queue.add_member(member)
    return queue


def raise_alarms(ticket: Ticket, queue: Queue, until: datetime) -> None:
    """Every SLA warning and breach due up to ``until``, each at its own instant, with the
    escalation and priority raise a breach brings (``TicketCommands.raise_sla_alarms``)."""
    while ticket.sla is not None and ticket.is_active:
        due = ticket.sla.alarms_due(until)
        if not due:
            return
        at = min(alarm.at for alarm in due)
        breaches = ticket.raise_due_alarms(at)
        if breaches:
            clocks = " and ".join(b.clock.replace("_", " ") for b in breaches)
            ticket.escalate(queue.escalation_group, reason=f"SLA breached: {clocks} target", at=at)


def next_alarm(sla: TicketSla, after: datetime) -> datetime | None:
    """The earliest warning or breach still to come after ``after`` (running clocks only)."""
    upcoming: list[datetime] = []
    for name in CLOCKS:
        if sla.clock(name).stopped_at is not None:
            continue
        warning, due = sla.warning_at(name), sla.due_at(name)
        if name not in sla.warned and warning is not None and warning > after:
            upcoming.append(warning)
        if name not in sla.breached and due is not None and due > after:
            upcoming.append(due)
    return min(upcoming, default=None)


def simulate(rng: random.Random, queue: Queue, number: int) -> Ticket:
    """One ticket's life up to T0, built through the domain as the commands build it."""
    opened = T0 - min(MAX_AGE, timedelta(seconds=rng.expovariate(1 / MEAN_AGE.total_seconds())))
    impact = rng.choices((1, 2, 3, 4), weights=(4, 16, 40, 40))[0]
    urgency = rng.choices((1, 2, 3, 4), weights=(5, 20, 40, 35))[0]
    kind = rng.choices(("incident", "service_request", "problem"), weights=(70, 27, 3))[0]
    host = f"host-{rng.randrange(2000):04d}"
    ticket = Ticket.open(
        str(new_event_id()),
        ticket_type=kind,
        queue=queue,
        impact=impact,
        urgency=urgency,
        title=f"{rng.choice(SUBJECTS)} on {host}",
        description=f"Reported by phone. {rng.choice(SYMPTOMS)} Ticket {number}.",
        category=rng.choice(("network", "hardware", "software", "access", "email")),
        configuration_item=host,
        requester=f"operator:user-{rng.randrange(1000):04d}",
        requester_kind="person",
        at=opened,
    )
    assignee = queue.members[number % len(queue.members)]
    ticket.assign(assignee, how="round_robin", at=opened)
    steps: list[tuple[datetime, Callable[[datetime], None]]] = []
    roll = rng.random()
    if roll < 0.75:  # worked on; a quarter stays new
        started = opened + timedelta(minutes=rng.uniform(5, 240))
        steps.append(
            (
                started,
                lambda at: ticket.transition(
                    Status.OPEN, reason="working on it", at=at, reopen_window=REOPEN_WINDOW
                ),
            )
        )
        if rng.random() < 0.6:
            replied = started + timedelta(minutes=rng.uniform(1, 60))
            steps.append(
                (
                    replied,
                    lambda at: ticket.reply(
                        str(uuid.uuid4()),
                        author=assignee,
                        body="Looking into it, will get back to you.",
                        by_agent=True,
                        at=at,
                    ),
                )
            )
        if roll < 0.15:  # waiting for the requester
            waiting = started + timedelta(minutes=rng.uniform(61, 300))
            steps.append(
                (
                    waiting,
                    lambda at: ticket.transition(
                        Status.PENDING,
                        reason="waiting for the requester",
                        at=at,
                        reopen_window=REOPEN_WINDOW,
                    ),
                )
            )
    # No alarm can come before the first warning as the ticket opened (pauses only delay
    # alarms, and priorities change only through breaches): steps before it need no check.
    assert ticket.sla is not None
    sla = ticket.sla
    first = min((w for w in (sla.warning_at(c) for c in CLOCKS) if w is not None), default=T0)
    for at, step in steps:
        if at >= T0:
            break
        if at >= first:
            raise_alarms(ticket, queue, at)
        step(at)
    raise_alarms(ticket, queue, T0)
    return ticket


SUBJECTS = (
    "VPN drops every few minutes",
    "Printer jams on every second page",
    "Outlook cannot reach the mailbox",
    "Password reset needed",
    "New laptop for a joiner",
    "Disk almost full",
    "Trading screen freezes at market open",
    "Shared drive not mapped",
)
SYMPTOMS = (
    "Started this morning after the update.",
    "Happens several times a day.",
    "Colleagues on the same floor see it too.",
    "Urgent: client meeting at 3 pm.",
)


def generate(queues: list[Queue], filled: Filled) -> Iterator[tuple[StreamAppend, list[Any]]]:
    """The tickets' streams, encoded with the tickets codec as the unit of work encodes them,
    each with its domain events; statistics of the result go into ``filled``."""
    codec = tickets_codec()
    rng = random.Random(5)
    weights = [QUEUES[q.name] for q in queues]
    for number in range(TICKETS):
        queue = rng.choices(queues, weights=weights)[0]
        ticket = simulate(rng, queue, number)
        events = ticket.pending_events()
        filled.events += len(events)
        filled.by_status[ticket.status.value] = filled.by_status.get(ticket.status.value, 0) + 1
        assert ticket.sla is not None
        if ticket.sla.breached:
            filled.breached += 1
        elif ticket.sla.warned:
            filled.at_risk += 1
        upcoming = next_alarm(ticket.sla, T0)
        if upcoming is not None:
            filled.next_alarms.append(upcoming)
        append = StreamAppend(
            ticket.id,
            Ticket.stream_type,
            0,
            [NewEvent(e.event_type, e.version, codec.encode(e)) for e in events],
        )
        yield append, events


# ---------------------------------------------------------------------------------------------
# The read model, written in bulk with the projection's rules


def projected(events: list[Any], envelopes: list[EventEnvelope]) -> tuple[Row, list[Row]]:
    """The ``tickets`` row and ``ticket_messages`` rows ``TicketsView`` makes of one ticket's
    events (for the event types the bench generates; any other is refused)."""
    row: Row = {}
    messages: list[Row] = []
    state: TicketSla | None = None
    for event, envelope in zip(events, envelopes, strict=True):
        state = fold_sla(state, event)
        match event:
            case ev.TicketOpened():
                row = {
                    "ticket_id": event.ticket_id,
                    "ticket_type": event.ticket_type,
                    "queue_id": event.queue_id,
                    "title": event.title,
                    "description": event.description,
                    "category": event.category,
                    "configuration_item": event.configuration_item,
                    "requester": event.requester,
                    "requester_kind": event.requester_kind,
                    "impact": event.impact,
                    "urgency": event.urgency,
                    "priority": event.priority,
                    "status": event.status,
                    "assignee": None,
                    "escalated_to": None,
                    "merged_into": None,
                    "opened_at": event.opened_at,
                    "first_response_at": None,
                    "resolved_at": None,
                    "closed_at": None,
                    "resolution_seconds": None,
                    "resolution_business_seconds": None,
                    "alert_count": 0,
                    "last_alert_at": None,
                }
            case ev.TicketPriorityChanged():
                row["priority"] = event.priority
            case ev.TicketStatusChanged(status="open" | "pending"):
                row["status"] = event.status
            case ev.TicketAssigned():
                row["assignee"] = event.assignee
            case ev.TicketReplied():
                if event.by_agent and row["first_response_at"] is None:
                    row["first_response_at"] = event.at
                messages.append(
                    {
                        "message_id": event.message_id,
                        "ticket_id": event.ticket_id,
                        "internal": False,
                        "by_agent": event.by_agent,
                        "author": event.author,
                        "body": event.body,
                        "at": event.at,
                        "position": envelope.position,
                    }
                )
            case ev.TicketEscalated():
                row["escalated_to"] = event.escalated_to
            case ev.SlaWarningRaised() | ev.SlaBreached():
                pass
            case _:
                raise TypeError(f"the bench does not project {type(event).__name__}")
    assert state is not None
    deadlines = state.deadlines()
    last = envelopes[-1]
    row.update(
        sla_state=state.to_dict(),
        first_response_warning_at=deadlines.first_response_warning_at,
        first_response_due_at=deadlines.first_response_due_at,
        resolution_warning_at=deadlines.resolution_warning_at,
        resolution_due_at=deadlines.resolution_due_at,
        first_response_warned="first_response" in state.warned,
        first_response_breached="first_response" in state.breached,
        resolution_warned="resolution" in state.warned,
        resolution_breached="resolution" in state.breached,
        updated_at=last.time,
        version=last.stream_version,
        position=last.position,
    )
    return row, messages


@dataclass
class BulkFill:
    """Appends ticket streams through the event store and writes their read-model rows into
    the live generation, ``STREAMS_PER_APPEND`` tickets per transaction."""

    engine: AsyncEngine
    schema: str
    store: EventStore = field(default_factory=lambda: PostgresEventStore(source="/tickets"))
    sample: list[tuple[EventEnvelope, Row]] = field(default_factory=list)

    async def run(self, items: Iterator[tuple[StreamAppend, list[Any]]]) -> None:
        chunk: list[tuple[StreamAppend, list[Any]]] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == STREAMS_PER_APPEND:
                await self._write(chunk)
                chunk = []
        if chunk:
            await self._write(chunk)

    async def _write(self, chunk: list[tuple[StreamAppend, list[Any]]]) -> None:
        async with self.engine.begin() as conn:
            stored = await self.store.append(conn, [append for append, _ in chunk], metadata())
        by_stream: dict[str, list[EventEnvelope]] = {}
        for envelope in stored:
            by_stream.setdefault(envelope.subject, []).append(envelope)
        rows: list[Row] = []
        messages: list[Row] = []
        for append, events in chunk:
            row, said = projected(events, by_stream[append.stream_id])
            rows.append(row)
            messages.extend(said)
            if len(self.sample) < SAMPLE:
                self.sample.extend((e, row) for e in by_stream[append.stream_id])
        async with self.engine.begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: self.schema}
            )
            await translated.execute(tickets_table.insert(), rows)
            if messages:
                await translated.execute(ticket_messages.insert(), messages)


async def check_sample(
    report: Report, read_model: ReadModelStore, view: TicketsView, sample: list[tuple[Any, Row]]
) -> None:
    """Applies the sample's events with the service's own projection into a scratch
    generation, compares its rows with the bench's, and reports the projection's rate."""
    scratch = (await read_model.ensure_live()) + 100
    await read_model.create_generation(scratch)
    envelopes = [envelope for envelope, _ in sample]
    try:
        started = time.perf_counter()
        for at in range(0, len(envelopes), 500):
            async with read_model.engine.begin() as conn:
                translated = await conn.execution_options(
                    schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(scratch)}
                )
                await view.apply_batch(translated, envelopes[at : at + 500])
        seconds = time.perf_counter() - started
        async with read_model.engine.connect() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(scratch)}
            )
            found = {
                r["ticket_id"]: dict(r)
                for r in (await translated.execute(sa.select(tickets_table))).mappings()
            }
    finally:
        await read_model.drop_generations_except({scratch - 100})
    ours = {row["ticket_id"]: row for _, row in sample}
    differing: Counter[str] = Counter()
    for ticket_id, row in ours.items():
        theirs = found.get(ticket_id)
        if theirs is None:
            differing["(row missing)"] += 1
            continue
        for column, value in row.items():
            if theirs[column] != value:
                differing[column] += 1
    report.add(
        Result(
            name="tickets projection (in process, sample)",
            value=len(envelopes) / seconds,
            unit="events/s",
            detail=f"({len(envelopes):,} events of {len(ours)} tickets in {seconds:.1f}s)",
        )
    )
    if differing:
        shown = ", ".join(f"{column} ({n})" for column, n in differing.most_common(6))
        report.say(f"    WARNING: the bench's bulk rows differ from the projection's: {shown}")
    else:
        report.note(
            f"the bench's bulk rows equal TicketsView's for all {len(ours)} sampled tickets"
        )


async def run(report: Report) -> None:
    try:
        async with stack(["tickets"], gateway=False, env={"tickets": QUIET}) as running:
            await measure(report, running)
    except Skip as exc:
        report.say(f"tickets queue benchmark skipped: {exc}")


async def measure(report: Report, running: Stack) -> None:
    service = running.services["tickets"]
    url, ns = service.env["TICKETS_DATABASE_URL"], service.env["TOPIC_NAMESPACE"]
    queues = [bench_queue(name) for name in QUEUES]
    for queue in queues:
        await create_queue(service, running, queue.name, queue.members)
    engine = create_engine(url)
    view = TicketsView(ns)
    read_model = ReadModelStore(engine, view.name, view.metadata)
    try:
        filled = Filled()
        bulk = BulkFill(engine, read_model.schema(await read_model.ensure_live()))
        started = time.perf_counter()
        try:
            await bulk.run(generate(queues, filled))
        except (sa.exc.DBAPIError, TypeError, KeyError) as exc:
            # The tickets service is still changing: its read model or events may have moved
            # away from what the bench writes.
            raise Skip(f"the bench's bulk fill no longer fits the tickets service: {exc}") from exc
        filled_in = time.perf_counter() - started
        async with read_model.reading() as conn:
            rows = int(
                (
                    await conn.execute(
                        sa.select(sa.func.count())
                        .select_from(tickets_table)
                        .where(tickets_table.c.status.in_(["new", "open", "pending"]))
                    )
                ).scalar_one()
            )
        statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(filled.by_status.items()))
        report.note(
            f"setup: {TICKETS:,} tickets, {filled.events:,} events ({statuses}; "
            f"{filled.at_risk:,} at risk, {filled.breached:,} breached), built, appended and "
            f"their rows written in {filled_in:.0f}s; {rows:,} active tickets in the read model"
        )
        await check_sample(report, read_model, view, bulk.sample)
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'ANALYZE "{bulk.schema}".tickets'))
        await queue_views(report, service, running, queues[0])
        await sweeps(report, url, ns, filled)
    finally:
        await engine.dispose()


def view_mixes(queue: Queue) -> list[tuple[str, dict[str, Any]]]:
    agent = queue.members[2]
    return [
        ("queue, open", {"queue_id": queue.id, "status": "open"}),
        ("queue, open, P3", {"queue_id": queue.id, "status": "open", "priority": 3}),
        ("queue, open, assignee", {"queue_id": queue.id, "status": "open", "assignee": agent}),
        ("queue, at risk", {"queue_id": queue.id, "sla": "at_risk"}),
        (
            "queue, open, P3, assignee, at risk",
            {
                "queue_id": queue.id,
                "status": "open",
                "priority": 3,
                "assignee": agent,
                "sla": "at_risk",
            },
        ),
        ("queue, open, q=vpn", {"queue_id": queue.id, "status": "open", "q": "vpn"}),
    ]


async def queue_views(report: Report, service: Service, running: Stack, queue: Queue) -> None:
    reader = running.signed("tickets", "operator:it-support", {"it-support"})
    share = QUEUES[queue.name]
    async with httpx.AsyncClient(
        base_url=service.url, timeout=30, limits=httpx.Limits(max_connections=1), trust_env=False
    ) as http:
        for label, params in view_mixes(queue):
            times: list[float] = []
            found = 0
            for number in range(WARM_UP + REQUESTS):
                sent = time.perf_counter()
                answer = await http.get("/v1/tickets", params=params, headers=reader())
                elapsed = time.perf_counter() - sent
                if answer.status_code != 200:
                    raise Skip(f"GET /v1/tickets {params} answered {answer.status_code}")
                found = len(answer.json()["items"])
                if number >= WARM_UP:
                    times.append(elapsed)
            p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
            report.add(
                Result(
                    name=f"queue view p99: {label}",
                    value=p99,
                    unit="ms",
                    decimals=1,
                    detail=f"(p50 {p50:.1f} ms, {found} rows of page 50)",
                    goal=Goal.under(VIEW_TARGET_MS),
                )
            )
    report.note(
        f"{REQUESTS} sequential requests per mix after {WARM_UP} warm-up, one connection, "
        f"straight to the service; queue {queue.name} holds ~{share:.0%} of {TICKETS:,} tickets"
    )


async def sweeps(report: Report, url: str, ns: str, filled: Filled) -> None:
    """Sweeps with the clock at T0 (nothing due) and when DUE tickets have an alarm due."""
    upcoming = sorted(filled.next_alarms)
    if len(upcoming) < DUE:
        report.say(f"SLA sweep skipped: only {len(upcoming)} tickets have an alarm to come")
        return
    due_at = upcoming[DUE - 1]
    expected = sum(1 for at in upcoming if at <= due_at)
    now = [T0]
    settings = TicketsSettings(
        database_url=url,
        topic_namespace=ns,
        kafka_bootstrap_servers=kafka_bootstrap(),
        run_relay=False,
        run_projections=False,
        run_sla_scheduler=False,
        create_default_queue=False,
    )
    service = bootstrap(settings, clock=lambda: now[0])
    try:
        idle: list[float] = []
        for _ in range(5):
            started = time.perf_counter()
            written = await service.scheduler.sweep_once()
            idle.append(time.perf_counter() - started)
            if written:
                report.say(f"    WARNING: the sweep at T0 raised alarms on {written} tickets")
        now[0] = due_at
        started = time.perf_counter()
        written = await service.scheduler.sweep_once()
        busy = time.perf_counter() - started
    finally:
        await service.runtime.engine.dispose()
    report.add(
        Result(
            name=f"SLA sweep, {expected} of {TICKETS:,} due",
            value=busy * 1000,
            unit="ms",
            decimals=1,
            detail=f"({written} tickets got alarms, {busy / max(written, 1) * 1000:.1f} ms each)",
            baseline_name="sweep with none due",
            baseline_value=percentile(idle, 50) * 1000,
            baseline_detail="(median of 5)",
        )
    )
    if written != expected:
        report.say(f"    WARNING: {expected} tickets were due, alarms were raised on {written}")
    report.note(
        f"clock moved {(due_at - T0).total_seconds() / 60:.0f} min past T0; in this process, "
        "commands through the service's own TicketCommands (one unit of work per ticket)"
    )

"""Tickets (issue 5): opening tickets over HTTP with ``CLIENTS`` concurrent clients, through
the gateway, and (the baseline, same run) straight to the tickets service with an identity
header signed the way the gateway signs it.

The tickets service and the gateway run as real uvicorn processes (``bench_http.stack``: fresh
databases and topic namespace, relay, projection and SLA scheduler running, the gateway's rate
limit lifted). One queue with ``AGENTS`` members takes every ticket: each creation also hands the
ticket to the next member in turn (round-robin, recorded on the queue's turns stream in the same
commit), so concurrent creations in one queue serialise on it, which is the point of the figure.
Every request has its own ``Idempotency-Key``; latencies are of 201 answers, measured here.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from bench_common import Report, Result, read_model_caught_up
from bench_http import (
    CLIENTS,
    CpuMeter,
    Load,
    Service,
    Skip,
    Stack,
    hammer,
    log_in,
    stack,
)
from shared_kernel.db import create_engine
from shared_kernel.kafka import events_topic
from tickets.projections.tickets_view import TicketsView

DURATION = 15.0
WARM_UP = 2.0
AGENTS = 5
CATCH_UP_TIMEOUT = 30.0  # for the read model to show every ticket before counting turns
OPENERS = {"it-support"}  # the role both paths open tickets with (the service checks it)


def agent_names(queue: str, count: int) -> list[str]:
    return [f"operator:{queue}-agent-{n}" for n in range(1, count + 1)]


async def create_queue(tickets: Service, stack_: Stack, name: str, members: list[str]) -> str:
    """Creates a queue straight at the service as an admin; returns its id."""
    admin = stack_.signed("tickets", "operator:admin", {"admin"}, office="none")
    async with httpx.AsyncClient(base_url=tickets.url, timeout=30, trust_env=False) as http:
        answer = await http.post(
            "/v1/queues",
            json={"name": name, "escalation_group": "it-managers", "members": members},
            headers={**admin(), "Idempotency-Key": f"bench-queue-{name}"},
        )
    if answer.status_code != 201:
        raise Skip(f"POST /v1/queues answered {answer.status_code}: {answer.text[:200]}")
    queue_id: str = answer.json()["id"]
    return queue_id


def ticket_body(queue_id: str, number: int) -> dict[str, Any]:
    """An incident as a service desk opens them: impact and urgency vary, so does the host."""
    return {
        "ticket_type": "incident",
        "queue_id": queue_id,
        "impact": 1 + number % 4,
        "urgency": 1 + (number // 4) % 4,
        "title": f"VPN drops every few minutes on laptop {number}",
        "description": "User reports the VPN client disconnecting; reconnect works for a while.",
        "category": "network",
        "configuration_item": f"host-{number % 50:03d}",
    }


def opener(
    path: str, queue_id: str, headers: Callable[[], dict[str, str]]
) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    def send(http: httpx.AsyncClient, number: int) -> Awaitable[httpx.Response]:
        return http.post(
            path,
            json=ticket_body(queue_id, number),
            headers={**headers(), "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
        )

    return send


async def assignments(tickets: Service, stack_: Stack, queue_id: str) -> Counter[str]:
    """How many tickets of the queue each member holds (round-robin balance), from the read
    model, paging through the queue view."""
    reader = stack_.signed("tickets", "operator:it-support", OPENERS)
    counts: Counter[str] = Counter()
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=tickets.url, timeout=60, trust_env=False) as http:
        while True:
            params: dict[str, Any] = {"queue_id": queue_id, "limit": 500}
            if cursor:
                params["cursor"] = cursor
            answer = await http.get("/v1/tickets", params=params, headers=reader())
            if answer.status_code != 200:
                return counts
            page = answer.json()
            counts.update(str(item["assignee"]) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return counts


async def run(report: Report) -> None:
    try:
        async with stack(["tickets"]) as running:
            await measure(report, running)
    except Skip as exc:
        report.say(f"tickets creation benchmark skipped: {exc}")


async def measure(report: Report, running: Stack) -> None:
    tickets, gateway = running.services["tickets"], running.gateway
    queue_id = await create_queue(tickets, running, "bench-desk", agent_names("desk", AGENTS))
    direct_headers = running.signed("tickets", "operator:it-support", OPENERS)
    direct_send = opener("/v1/tickets", queue_id, direct_headers)
    service_cpu = CpuMeter(tickets)
    await service_cpu.idle()
    await hammer(tickets.url, direct_send, WARM_UP)
    service_cpu.start()
    direct = await hammer(tickets.url, direct_send, DURATION)
    cpu = [f"direct: {service_cpu.per_request(len(direct.latencies))}"]

    reason = running.reason
    through: Load | None = None
    if gateway is not None:
        try:
            bearer = await log_in(gateway, "it-support")
            via_send = opener("/tickets/v1/tickets", queue_id, lambda: bearer)
            gateway_cpu = CpuMeter(gateway)
            await gateway_cpu.idle()
            await hammer(gateway.url, via_send, WARM_UP)
            service_cpu.start()
            gateway_cpu.start()
            through = await hammer(gateway.url, via_send, DURATION)
            done = len(through.latencies)
            cpu.append(
                f"via gateway: {service_cpu.per_request(done)}, {gateway_cpu.per_request(done)}"
            )
        except Skip as exc:
            reason = str(exc)

    clients = f"{CLIENTS} clients, {DURATION:.0f}s"
    if through is None:
        report.say(f"tickets via gateway skipped: {reason}")
        report.add(
            Result(
                name=f"tickets opened, service direct ({clients})",
                value=direct.rate,
                unit="tickets/s",
                detail=direct.detail(),
            )
        )
        notes = [direct.failure_note("service direct")]
    else:
        report.add(
            Result(
                name=f"tickets opened via gateway ({clients})",
                value=through.rate,
                unit="tickets/s",
                detail=through.detail(),
                baseline_name="service direct",
                baseline_value=direct.rate,
                baseline_detail=direct.detail(),
            )
        )
        notes = [through.failure_note("via gateway"), direct.failure_note("service direct")]
    for note in notes:
        if note:
            report.say(f"    {note}")
    report.say(f"    process CPU per ticket: {'; '.join(cpu)}")
    engine = create_engine(tickets.env["TICKETS_DATABASE_URL"], pool_size=1)
    try:
        topic = events_topic("tickets", tickets.env["TOPIC_NAMESPACE"])
        view = TicketsView(tickets.env["TOPIC_NAMESPACE"])
        complete = await read_model_caught_up(engine, view, topic, CATCH_UP_TIMEOUT)
    finally:
        await engine.dispose()
    held = await assignments(tickets, running, queue_id)
    if held:
        report.say(
            f"    round-robin over {AGENTS} agents: {sum(held.values()):,} tickets in the read "
            f"model{'' if complete else ' (still catching up)'}, per agent "
            f"{min(held.values()):,} to {max(held.values()):,}"
        )
    if running.policy_note:
        report.note(running.policy_note)
    report.note(
        "uvicorn, 1 worker each; relay, projection and SLA scheduler running in the service; "
        "one queue, every creation takes the queue's round-robin turn; clients in this process"
    )

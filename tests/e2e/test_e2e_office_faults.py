"""The office's processes under faults (issue 12): deals submitted while risk is down wait and
clear when it is back; risk and tickets killed (SIGKILL) in the middle of the story still do
each step exactly once; a replay of every topic from offset zero and a rebuild of every read
model change nothing anyone can read."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .conftest import ROOT, System
from .office_story import Json, Office, in_order_once, ok

pytestmark = pytest.mark.e2e

LIMIT = 100_000
READ_MODEL_GROUP = re.compile(r"_v\d+$")  # a read model's group: <ns><service>.<name>_v<n>


async def test_deals_submitted_while_risk_is_down_wait_and_clear_when_it_is_back(
    system: System,
) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        office = await Office.open(gateway)
        limit_id = await office.limit(LIMIT)
        system.stop("risk")
        deals = [(await office.submit_deal(10_000)).json()["id"] for _ in range(3)]
        for request_id in deals:
            view = await office.request_view(request_id)
            assert view["clearance"]["status"] == "awaiting", view
            early = await office.approve(request_id)
            assert (early.status_code, early.json()["code"]) == (409, "AwaitingRiskClearance")
        await system.start("risk")
        for request_id in deals:
            await office.clearance_is(request_id, "cleared")
            ok(await office.approve(request_id))
        await office.exposure_is(limit_id, 30_000)


async def test_killed_services_do_each_step_once_and_a_replay_and_rebuild_change_nothing(
    system: System,
) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        office = await Office.open(gateway)
        limit_id = await office.limit(LIMIT)

        # Risk dies (SIGKILL) right after a deal is submitted: cleared once when back.
        submitted = await office.submit_deal(60_000)
        deal, case = submitted.json()["id"], submitted.headers["X-Request-Id"]
        system.stop("risk", signal.SIGKILL)
        await system.start("risk")
        await office.clearance_is(deal, "cleared")
        ok(await office.approve(deal))
        await office.exposure_is(limit_id, 60_000)

        # Tickets dies right after the breaching posting: one incident when back.
        posting = await office.post_entry(50_000)
        entry_id, breach_case = posting.json()["id"], posting.headers["X-Request-Id"]
        system.stop("tickets", signal.SIGKILL)
        breach = await office.breach_of(limit_id)
        await system.start("tickets")
        await office.incident_for(breach["id"])

        # Both die around the measures and the reversal: the incident still resolves once.
        await office.record_measures(breach["id"], "Counterparty on watch; no new trades.")
        system.stop("tickets", signal.SIGKILL)
        await office.reverse(entry_id)
        system.stop("risk", signal.SIGKILL)
        await system.start("risk")
        await system.start("tickets")
        await office.incident_for(breach["id"], status="resolved")

        deal_steps = [
            "ledger.BookingRequestSubmitted",
            "risk.DealCleared",
            "ledger.BookingRequestCleared",
            "ledger.BookingRequestApproved",
        ]
        in_order_once(await office.case_types(case, *deal_steps), deal_steps)
        breach_steps = [
            "risk.LimitBreached",
            "tickets.TicketOpened",
            "risk.LimitBreachMeasuresRecorded",
            "tickets.LimitBreachIncidentClosed",
            "tickets.TicketStatusChanged",
        ]
        types = await office.case_types(breach_case, *breach_steps)
        in_order_once(types, breach_steps)
        # From 110 % to 60 %: back below the limit and below the warning, once each.
        assert types.count("risk.LimitBackWithinThreshold") == 2, types
        assert types.count("tickets.TicketNoteAdded") == 2, types  # measures, back within

        def read() -> Awaitable[Json]:
            return snapshot(office, limit_id, [deal], breach["id"], [case, breach_case])

        # The story's last consequences (a KRI re-measured, a timeline entry) may still be on
        # their way: the picture to compare is the one that no longer changes.
        before = await settled(read)

        # Replay every topic from offset zero into every inbox, and rebuild every read model.
        names = ["ledger", "tickets", "risk", "gateway"]
        for name in names:
            system.stop(name)
        ends = await reset_consumer_groups(system.kafka_bootstrap, system.topic_namespace)
        for name in names:
            await asyncio.to_thread(rebuild, system, name)
        for name in names:
            await system.start(name)
        await replayed(system.kafka_bootstrap, ends)  # every inbox read its topics again
        after = await settled(read, like=before)
        changed = {key: (before[key], after[key]) for key in before if after[key] != before[key]}
        assert not changed, changed


async def settled(read: Callable[[], Awaitable[Json]], like: Json | None = None) -> Json:
    """What ``read`` answers once two readings a second apart agree (and agree with ``like``,
    when given); the last reading after 30 s if they never do."""
    last = await read()
    for _ in range(30):
        await asyncio.sleep(1)
        now = await read()
        if now == last and (like is None or now == like):
            return now
        last = now
    return last


async def snapshot(
    office: Office, limit_id: str, deals: list[str], breach_id: str, cases: list[str]
) -> Json:
    """What anyone can read of the story: requests, limit, deals, incident, timelines."""
    gateway = office.gateway
    limit = await office.limit_view(limit_id)
    incidents = await office.incidents_of(breach_id)
    state: dict[str, Any] = {
        "limit": (limit["exposure"], limit.get("threshold_state")),
        "requests": [
            {k: v for k, v in (await office.request_view(d)).items() if k != "position"}
            for d in deals
        ],
        "deals": [
            ok(await gateway.get(f"/risk/v1/deals/{d}", headers=office.officer)) for d in deals
        ],
        "incidents": [(i["ticket_id"], i["status"], i["priority"]) for i in incidents],
        "notes": [len(await office.notes_of(i["ticket_id"])) for i in incidents],
        "cases": [[e["event_id"] for e in ok(await office.case(case))["events"]] for case in cases],
    }
    return state


async def reset_consumer_groups(
    bootstrap: str, namespace: str
) -> dict[str, dict[TopicPartition, int]]:
    """Every inbox's consumer group back to offset zero (the services are stopped); the
    offsets each had reached."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    reached: dict[str, dict[TopicPartition, int]] = {}
    try:
        # The inboxes' groups; a read model keeps its offsets with its rows and is rebuilt.
        groups = [
            g[0]
            for g in await admin.list_consumer_groups()
            if g[0].startswith(namespace) and not READ_MODEL_GROUP.search(g[0])
        ]
        assert groups, "the inboxes have consumer groups"
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            if not offsets:
                continue  # nothing committed: it starts from offset zero anyway
            reached[group] = {tp: meta.offset for tp, meta in offsets.items()}
            consumer = AIOKafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
            )
            await consumer.start()
            try:
                consumer.assign(list(offsets))
                await consumer.commit({tp: 0 for tp in offsets})
            finally:
                await consumer.stop()
            after = await admin.list_consumer_group_offsets(group)
            assert {meta.offset for meta in after.values()} == {0}, (group, after)
    finally:
        await admin.close()
    assert reached, "some inbox had committed offsets"
    return reached


async def replayed(bootstrap: str, reached: dict[str, dict[TopicPartition, int]]) -> None:
    """Wait until every group has read again as far as it had before the reset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(600):
            behind = []
            for group, offsets in reached.items():
                now = await admin.list_consumer_group_offsets(group)
                if any(now.get(tp) is None or now[tp].offset < o for tp, o in offsets.items()):
                    behind.append(group)
            if not behind:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"inboxes did not replay their topics: {behind}")
    finally:
        await admin.close()


def rebuild(system: System, name: str) -> None:
    _, env = system.commands[name]
    subprocess.run(
        [sys.executable, "-m", name, "rebuild"],
        check=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=300,
    )

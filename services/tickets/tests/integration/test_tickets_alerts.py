"""Monitoring alerts: one open incident per host and check, later alerts added to it,
resolved by a recovery; concurrent alerts for one host and check open one incident."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from shared_kernel.testing import Headers

from .tickets_api import read
from .tickets_runtime import event_counts

pytestmark = pytest.mark.integration


def alert(host: str, check: str, state: str = "firing", **fields: Any) -> dict[str, Any]:
    return {"host": host, "check": check, "state": state, "summary": f"{check} {state}", **fields}


async def test_alerts_are_deduplicated_and_recovered(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    monitoring = as_role("monitoring", "back", subject="system:nagios", kind="system")
    agent = as_role("it-support")

    first = await tickets_client.post(
        "/v1/alerts", json=alert("db-1", "disk", severity="critical"), headers=monitoring
    )
    assert first.status_code == 200, first.text
    incident = first.json()["ticket_id"]
    again = await tickets_client.post("/v1/alerts", json=alert("db-1", "disk"), headers=monitoring)
    other_check = await tickets_client.post(
        "/v1/alerts", json=alert("db-1", "cpu"), headers=monitoring
    )
    assert again.json()["ticket_id"] == incident
    assert other_check.json()["ticket_id"] not in (None, incident)

    ticket = await read(tickets_client, agent, f"/v1/tickets/{incident}", again.json()["position"])
    assert ticket["ticket_type"] == "incident"
    assert (ticket["configuration_item"], ticket["priority"]) == ("db-1", 1)
    assert ticket["requester_kind"] == "system"
    assert ticket["alert_count"] == 2

    recovered = await tickets_client.post(
        "/v1/alerts", json=alert("db-1", "disk", "recovery"), headers=monitoring
    )
    assert recovered.json()["ticket_id"] == incident
    ticket = await read(
        tickets_client, agent, f"/v1/tickets/{incident}", recovered.json()["position"]
    )
    assert ticket["status"] == "resolved"
    late_recovery = await tickets_client.post(
        "/v1/alerts", json=alert("db-1", "disk", "resolved"), headers=monitoring
    )
    assert late_recovery.status_code == 200
    assert late_recovery.json()["ticket_id"] is None

    # The problem returns: a new incident, not the resolved one.
    back = await tickets_client.post("/v1/alerts", json=alert("db-1", "disk"), headers=monitoring)
    assert back.json()["ticket_id"] not in (None, incident)

    refused = await tickets_client.post("/v1/alerts", json=alert("x", "y"), headers=agent)
    assert refused.status_code == 403


async def test_concurrent_alerts_open_one_incident(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    monitoring = as_role("monitoring", "back", subject="system:nagios", kind="system")

    answers = await asyncio.gather(
        *(
            tickets_client.post("/v1/alerts", json=alert("web-7", "http"), headers=monitoring)
            for _ in range(20)
        )
    )

    assert {a.status_code for a in answers} == {200}
    incidents = {a.json()["ticket_id"] for a in answers}
    assert len(incidents) == 1
    counts = await event_counts(tickets_client, incidents.pop())
    assert counts["tickets.TicketOpened"] == 1
    assert counts["tickets.AlertRecorded"] == 20

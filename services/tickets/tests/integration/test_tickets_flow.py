"""A ticket's life through the API: open, classify, assign, converse, transition, reopen,
with role checks, visibility of internal notes and stale versions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from shared_kernel.testing import Headers

from .conftest import FakeClock
from .tickets_api import create_queue, open_ticket, post, read

pytestmark = pytest.mark.integration


async def test_a_ticket_from_opening_to_closing(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    admin = as_role("admin", "none")
    alice = as_role("it-support", subject="user:alice")
    trader = as_role("trader", "front", subject="user:tina")
    other_trader = as_role("trader", "front", subject="user:tom")
    queue = await create_queue(
        tickets_client, admin, "service-desk", members=["user:alice", "user:bob"]
    )

    opened = await open_ticket(
        tickets_client, trader, queue, impact=1, urgency=2, title="Trading screen frozen"
    )
    ticket_id = opened["id"]
    path = f"/v1/tickets/{ticket_id}"
    ticket = await read(tickets_client, trader, path, opened["position"])
    assert ticket["priority"] == 1
    assert ticket["status"] == "new"
    assert ticket["requester"] == "user:tina"
    assert ticket["assignee"] == "user:alice"  # round-robin: the first member's turn
    assert ticket["first_response_due_at"] is not None

    # Someone else's ticket does not exist for a front-office caller.
    hidden = await tickets_client.get(path, headers=other_trader)
    assert hidden.status_code == 404

    # Reclassifying recomputes the priority; a stale version is refused.
    reclassified = await post(
        tickets_client,
        alice,
        f"{path}/classification",
        {"impact": 3, "urgency": 3, "reason": "only one screen affected"},
        version=ticket["version"],
    )
    assert reclassified.status_code == 200, reclassified.text
    stale = await post(
        tickets_client,
        alice,
        f"{path}/classification",
        {"impact": 1, "reason": "again"},
        version=ticket["version"],
    )
    # RFC 9110: a failed If-Match is 412 Precondition Failed (the kernel's one answer).
    assert stale.status_code == 412
    assert stale.json()["code"] == "VersionMismatch"
    ticket = await read(tickets_client, alice, path, reclassified.json()["position"])
    assert (ticket["impact"], ticket["urgency"], ticket["priority"]) == (3, 3, 3)

    # A forbidden transition names the allowed ones.
    forbidden = await post(
        tickets_client, alice, f"{path}/transitions", {"to": "closed", "reason": "x"}
    )
    assert forbidden.status_code == 409
    assert forbidden.json()["code"] == "TransitionNotAllowed"
    assert "allowed: cancelled, open, pending, resolved" in forbidden.json()["detail"]

    # The front office may not work tickets.
    refused = await post(
        tickets_client, trader, f"{path}/transitions", {"to": "open", "reason": "x"}
    )
    assert refused.status_code == 403

    for to in ("open", "pending"):
        moved = await post(
            tickets_client, alice, f"{path}/transitions", {"to": to, "reason": f"now {to}"}
        )
        assert moved.status_code == 200, moved.text
    note = await post(tickets_client, alice, f"{path}/notes", {"body": "user seems annoyed"})
    assert note.status_code == 201, note.text
    answer = await post(tickets_client, trader, f"{path}/replies", {"body": "still frozen"})
    assert answer.status_code == 201, answer.text
    ticket = await read(tickets_client, alice, path, answer.json()["position"])
    assert ticket["status"] == "open"  # the requester's reply ends the wait

    seen_by_requester = await read(
        tickets_client, trader, f"{path}/conversation", answer.json()["position"]
    )
    assert [m["body"] for m in seen_by_requester["items"]] == ["still frozen"]
    seen_by_agent = await read(
        tickets_client, alice, f"{path}/conversation", answer.json()["position"]
    )
    assert [m["body"] for m in seen_by_agent["items"]] == ["user seems annoyed", "still frozen"]

    history = await tickets_client.get(f"{path}/history", headers=trader)
    assert history.status_code == 200
    kinds = [h["event_type"] for h in history.json()["items"]]
    assert "tickets.TicketNoteAdded" not in kinds
    assert kinds[0] == "tickets.TicketOpened"
    full = (await tickets_client.get(f"{path}/history", headers=alice)).json()["items"]
    assert "tickets.TicketNoteAdded" in [h["event_type"] for h in full]
    pending = next(h for h in full if h["data"].get("status") == "pending")
    assert (pending["actor"], pending["reason"]) == ("user:alice", "now pending")

    # Resolved tickets reopen within the window only.
    clock.advance(timedelta(hours=2))
    resolved = await post(
        tickets_client, alice, f"{path}/transitions", {"to": "resolved", "reason": "rebooted"}
    )
    assert resolved.status_code == 200
    reopened = await post(
        tickets_client, alice, f"{path}/transitions", {"to": "open", "reason": "back"}
    )
    assert reopened.status_code == 200, reopened.text
    await post(tickets_client, alice, f"{path}/transitions", {"to": "resolved", "reason": "fixed"})
    clock.advance(timedelta(days=8))
    late = await post(
        tickets_client, alice, f"{path}/transitions", {"to": "open", "reason": "again"}
    )
    assert late.status_code == 409
    assert late.json()["code"] == "ReopenWindowExpired"
    closed = await post(
        tickets_client, alice, f"{path}/transitions", {"to": "closed", "reason": "done"}
    )
    assert closed.status_code == 200
    ticket = await read(tickets_client, alice, path, closed.json()["position"])
    assert ticket["status"] == "closed"
    # Opened Monday 09:00 Berlin, resolved two hours later: inside business hours throughout.
    assert (ticket["resolution_seconds"], ticket["resolution_business_seconds"]) == (7200, 7200)


async def test_ticket_events_carry_what_the_risk_service_reads(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    agent = as_role("it-support")
    opened = await open_ticket(tickets_client, agent, impact=1, urgency=1)
    path = f"/v1/tickets/{opened['id']}"
    await post(
        tickets_client, agent, f"{path}/classification", {"urgency": 4, "reason": "workaround"}
    )
    await post(tickets_client, agent, f"{path}/transitions", {"to": "open", "reason": "on it"})

    items = (await tickets_client.get(f"{path}/history", headers=agent)).json()["items"]
    by_type = {i["event_type"]: i["data"] for i in items}
    assert by_type["tickets.TicketOpened"]["ticket_type"] == "incident"
    assert by_type["tickets.TicketOpened"]["priority"] == 1
    assert by_type["tickets.TicketOpened"]["queue_id"]
    assert by_type["tickets.TicketPriorityChanged"]["priority"] == 3
    status = by_type["tickets.TicketStatusChanged"]
    assert (status["status"], status["previous_status"], status["reason"]) == (
        "open",
        "new",
        "on it",
    )


async def test_bad_input_is_a_clear_4xx(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    agent = as_role("it-support")
    bad_level = await tickets_client.post(
        "/v1/tickets",
        json={"ticket_type": "incident", "impact": 5, "urgency": 1, "title": "x"},
        headers=agent,
    )
    assert bad_level.status_code == 422
    assert bad_level.json()["field"] == "impact"
    unknown_queue = await tickets_client.post(
        "/v1/tickets",
        json={
            "ticket_type": "incident",
            "impact": 1,
            "urgency": 1,
            "title": "x",
            "queue_id": "nope",
        },
        headers=agent,
    )
    assert unknown_queue.status_code == 404
    assert unknown_queue.json()["field"] == "queue_id"
    missing = await tickets_client.post(
        "/v1/tickets/0192a3f4-7b1e-7c3d-9f00-5a1b2c3d4e5f/transitions",
        json={"to": "open", "reason": "x"},
        headers=agent,
    )
    assert missing.status_code == 404
    no_identity = await tickets_client.get("/v1/tickets")
    assert no_identity.status_code == 401


POLICY_24_7: dict[str, Any] = {
    "name": "round the clock",
    "calendar": {
        "name": "24/7",
        "time_zone": "UTC",
        "working_days": [0, 1, 2, 3, 4, 5, 6],
        "opens": "00:00",
        "closes": "23:59",
    },
    "targets": {
        str(p): {"first_response_seconds": 600 * p, "resolution_seconds": 3600 * p}
        for p in range(1, 5)
    },
    "warning_ratio": 0.5,
}


async def test_a_queue_has_its_own_sla_policy_and_priority_matrix(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support")
    matrix = [[2, 2, 2, 2]] * 4
    queue = await create_queue(
        tickets_client, admin, "noc", sla_policy=POLICY_24_7, priority_matrix=matrix
    )
    opened = await open_ticket(tickets_client, agent, queue, impact=1, urgency=1)
    ticket = await read(tickets_client, agent, f"/v1/tickets/{opened['id']}", opened["position"])
    assert ticket["priority"] == 2
    started = clock.now
    assert datetime.fromisoformat(ticket["first_response_due_at"]) == started + timedelta(
        minutes=20
    )
    assert datetime.fromisoformat(ticket["first_response_warning_at"]) == started + timedelta(
        minutes=10
    )
    assert datetime.fromisoformat(ticket["resolution_due_at"]) == started + timedelta(hours=2)

    missing_priority = {**POLICY_24_7, "targets": {"1": POLICY_24_7["targets"]["1"]}}
    refused = await tickets_client.post(
        "/v1/queues",
        json={"name": "broken", "escalation_group": "x", "sla_policy": missing_priority},
        headers=admin,
    )
    assert refused.status_code == 422, refused.text
    unknown_zone = {
        **POLICY_24_7,
        "calendar": {**POLICY_24_7["calendar"], "time_zone": "Mars/Base"},
    }
    refused = await tickets_client.post(
        "/v1/queues",
        json={"name": "broken", "escalation_group": "x", "sla_policy": unknown_zone},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "sla_policy.calendar.time_zone"

"""Customer satisfaction over HTTP: the requester rates a resolved ticket once within the
reopen window; others get 403 or 404; the ratings feed the satisfaction statistics per
queue and agent over a period, and a rebuild gives the same statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers

from .conftest import FakeClock
from .tickets_api import create_queue, open_ticket, post, read
from .tickets_runtime import service_of, settle

pytestmark = pytest.mark.integration


async def resolve(client: httpx.AsyncClient, agent: dict[str, str], ticket_id: str) -> None:
    answer = await post(
        client, agent, f"/v1/tickets/{ticket_id}/transitions", {"to": "resolved", "reason": "ok"}
    )
    assert answer.status_code == 200, answer.text


async def rate(
    client: httpx.AsyncClient, who: dict[str, str], ticket_id: str, rating: Any, comment: str = ""
) -> httpx.Response:
    return await post(
        client, who, f"/v1/tickets/{ticket_id}/rating", {"rating": rating, "comment": comment}
    )


async def satisfaction(
    client: httpx.AsyncClient, reader: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    body = await read(client, reader, "/v1/reports/satisfaction", await settle(client), **params)
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_requesters_rate_resolved_tickets_and_the_statistics_follow(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    admin, agent = as_role("admin"), as_role("it-support", subject="user:anna")
    tina = as_role("trader", "front", subject="user:tina")
    tom = as_role("trader", "front", subject="user:tom")
    queue_id = await create_queue(tickets_client, admin, "VPN desk", members=["user:anna"])
    first = (await open_ticket(tickets_client, tina, queue_id, title="VPN down"))["id"]
    second = (await open_ticket(tickets_client, tina, queue_id, title="VPN slow"))["id"]
    late = (await open_ticket(tickets_client, tina, queue_id, title="VPN again"))["id"]
    unresolved = (await open_ticket(tickets_client, tina, queue_id, title="VPN?"))["id"]
    await resolve(tickets_client, agent, late)
    clock.advance(timedelta(days=8))  # beyond the default reopen window of 7 days
    for ticket_id in (first, second):
        await resolve(tickets_client, agent, ticket_id)

    refusals = {
        "not resolved": await rate(tickets_client, tina, unresolved, 5),
        "window closed": await rate(tickets_client, tina, late, 5),
        "stranger": await rate(tickets_client, tom, first, 1),
        "agent": await rate(tickets_client, agent, first, 1),
        "out of scale": await rate(tickets_client, tina, first, 6),
        "not an int": await rate(tickets_client, tina, first, "5"),
    }
    rated = await rate(tickets_client, tina, first, 4, "quick")
    again = await rate(tickets_client, tina, first, 5)
    await rate(tickets_client, tina, second, 2, "took long")

    answers = {name: (r.status_code, r.json().get("code")) for name, r in refusals.items()}
    assert answers == {
        "not resolved": (409, "TicketNotResolved"),
        "window closed": (409, "RatingWindowClosed"),
        "stranger": (404, "NotFound"),
        "agent": (403, "RequesterOnly"),
        "out of scale": (422, answers["out of scale"][1]),
        "not an int": (422, answers["not an int"][1]),
    }
    assert refusals["out of scale"].json()["field"] == "rating"
    assert rated.status_code == 201, rated.text
    assert (again.status_code, again.json()["code"]) == (409, "AlreadyRated")
    ticket = await read(tickets_client, tina, f"/v1/tickets/{first}", rated.json()["position"])
    assert ticket["rating"] == 4

    reader = as_role("controller")
    by_name = await read(tickets_client, reader, "/v1/tickets", 0, queue="vpn desk")
    by_id = await read(tickets_client, reader, "/v1/tickets", 0, queue=queue_id)
    assert len(by_name["items"]) == 4 and by_id == by_name
    both = await tickets_client.get(
        "/v1/tickets", params={"queue": "vpn desk", "queue_id": queue_id}, headers=reader
    )
    assert (both.status_code, both.json()["field"]) == (422, "queue")
    per_queue = await satisfaction(tickets_client, reader)
    assert [
        (r["queue_name"], r["ratings"], r["average"], r["distribution"]) for r in per_queue
    ] == [("VPN desk", 2, 3.0, {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0})]
    per_agent = await satisfaction(tickets_client, reader, by="agent")
    assert [(r["agent"], r["ratings"]) for r in per_agent] == [("user:anna", 2)]
    later = (clock.now + timedelta(seconds=1)).isoformat()
    assert await satisfaction(tickets_client, reader, since=later) == []
    assert (await tickets_client.get("/v1/reports/satisfaction", headers=tina)).status_code == 403

    service = service_of(tickets_client)
    projection = service.runtime.projections[0]
    await rebuild(
        projection,
        service.runtime.read_models[projection.name],
        service.settings.kafka_bootstrap_servers,
        service.runtime.dead_letters(),
    )
    assert await satisfaction(tickets_client, reader) == per_queue

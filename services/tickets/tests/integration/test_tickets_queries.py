"""Queue views with filters and full-text search, the backlog and mean time to resolve,
and idempotent queue creation."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from shared_kernel.testing import Headers

from .conftest import FakeClock
from .tickets_api import create_queue, open_ticket, post, read
from .tickets_runtime import settle

pytestmark = pytest.mark.integration


async def test_filters_and_full_text_search(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support", subject="user:al")
    trader = as_role("trader", "front", subject="user:tina")
    queue = await create_queue(tickets_client, admin, "search", members=["user:al"])
    printer = await open_ticket(
        tickets_client, trader, queue, title="Printer jams", description="paper stuck in tray 2"
    )
    vpn = await open_ticket(
        tickets_client, agent, queue, impact=1, urgency=1, title="VPN drops every hour"
    )
    await open_ticket(
        tickets_client, agent, queue, title="New laptop", ticket_type="service_request"
    )
    await settle(tickets_client)

    async def ids(headers: dict[str, str], **params: object) -> list[str]:
        page = await read(tickets_client, headers, "/v1/tickets", 0, queue_id=queue, **params)
        return [t["ticket_id"] for t in page["items"]]

    assert await ids(agent, q="paper tray") == [printer["id"]]
    assert await ids(agent, q="vpn -printer") == [vpn["id"]]
    assert await ids(agent, q='"every hour"') == [vpn["id"]]
    assert await ids(agent, priority=1) == [vpn["id"]]
    assert len(await ids(agent, assignee="user:al")) == 3
    assert len(await ids(agent, status="new")) == 3
    # A front-office requester sees their own tickets only.
    assert await ids(trader) == [printer["id"]]

    first = await read(tickets_client, agent, "/v1/tickets", 0, queue_id=queue, limit=2)
    assert first["next_cursor"] is not None
    rest = await read(
        tickets_client, agent, "/v1/tickets", 0, queue_id=queue, cursor=first["next_cursor"]
    )
    assert len(first["items"]) + len(rest["items"]) == 3
    bad = await tickets_client.get("/v1/tickets", params={"cursor": "nonsense"}, headers=agent)
    assert bad.status_code == 422


async def test_the_list_filters_by_several_statuses_at_once(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support", subject="user:al")
    queue = await create_queue(tickets_client, admin, "statuses", members=["user:al"])
    made = [(await open_ticket(tickets_client, agent, queue))["id"] for _ in range(4)]
    fresh, working, waiting, dropped = made
    position = 0
    for ticket_id, steps in (
        (working, ["open"]),
        (waiting, ["open", "pending"]),
        (dropped, ["cancelled"]),
    ):
        for to in steps:
            moved = await post(
                tickets_client,
                agent,
                f"/v1/tickets/{ticket_id}/transitions",
                {"to": to, "reason": "x"},
            )
            assert moved.status_code == 200, moved.text
            position = moved.json()["position"]

    async def ids(**params: object) -> list[str]:
        page = await read(tickets_client, agent, "/v1/tickets", position, queue_id=queue, **params)
        return [t["ticket_id"] for t in page["items"]]

    # Newest first, as with one status; the single-value form is unchanged.
    assert await ids(status="new") == [fresh]
    assert await ids(status=["new", "open"]) == [working, fresh]
    assert await ids(status=["open", "pending"]) == [waiting, working]
    assert await ids(status=["new", "open", "pending"]) == [waiting, working, fresh]
    assert await ids(status=["open", "open"]) == [working]
    assert await ids(status=["cancelled", "new"]) == [dropped, fresh]
    # Several statuses page like one: every ticket once, in order.
    first = await read(
        tickets_client,
        agent,
        "/v1/tickets",
        position,
        queue_id=queue,
        status=["new", "open", "pending"],
        limit=2,
    )
    rest = await read(
        tickets_client,
        agent,
        "/v1/tickets",
        position,
        queue_id=queue,
        status=["new", "open", "pending"],
        limit=2,
        cursor=first["next_cursor"],
    )
    paged = [t["ticket_id"] for t in first["items"] + rest["items"]]
    assert paged == [waiting, working, fresh]
    assert rest["next_cursor"] is None

    # Each value is checked: an unknown one (or a comma list, which is not the form) is 422.
    for wrong in (["new", "done"], ["new,open"]):
        bad = await tickets_client.get("/v1/tickets", params={"status": wrong}, headers=agent)
        assert bad.status_code == 422, bad.text
        assert "status" in bad.json()["field"]


async def test_backlog_and_mean_time_to_resolve(
    tickets_client: httpx.AsyncClient, as_role: Headers, clock: FakeClock
) -> None:
    admin, agent = as_role("admin", "none"), as_role("it-support")
    auditor = as_role("auditor", "none")
    queue = await create_queue(tickets_client, admin, "stats")
    opened = [
        (await open_ticket(tickets_client, agent, queue, impact=2, urgency=2))["id"]
        for _ in range(3)
    ]
    clock.advance(timedelta(hours=2))
    await post(
        tickets_client,
        agent,
        f"/v1/tickets/{opened[0]}/transitions",
        {"to": "resolved", "reason": "ok"},
    )
    clock.advance(timedelta(hours=12))  # 23:00: 14 h of wall clock, 9 h of business time
    await post(
        tickets_client,
        agent,
        f"/v1/tickets/{opened[1]}/transitions",
        {"to": "resolved", "reason": "ok"},
    )
    await settle(tickets_client)

    backlog = (await read(tickets_client, auditor, "/v1/reports/backlog", 0))["items"]
    mine = [row for row in backlog if row["queue_id"] == queue]
    assert [(r["priority"], r["status"], r["tickets"]) for r in mine] == [(2, "new", 1)]

    times = (await read(tickets_client, auditor, "/v1/reports/resolution-times", 0))["items"]
    mine = [row for row in times if row["queue_id"] == queue]
    assert len(mine) == 1
    assert (mine[0]["priority"], mine[0]["resolved"]) == (2, 2)
    assert mine[0]["mean_seconds"] == (2 + 14) / 2 * 3600
    # Opened Monday 09:00 Berlin, resolved at 11:00 and at 23:00 (business hours end at 18:00).
    assert mine[0]["mean_business_seconds"] == (2 + 9) / 2 * 3600

    front = as_role("trader", "front")
    refused = await tickets_client.get("/v1/reports/backlog", headers=front)
    assert refused.status_code == 403


async def test_queue_creation_is_idempotent(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin", "none")
    body = {"name": "demo", "escalation_group": "demo-managers", "members": ["user:al"]}
    key = {"Idempotency-Key": "demo-queue-1"}
    first = await tickets_client.post("/v1/queues", json=body, headers={**admin, **key})
    second = await tickets_client.post("/v1/queues", json=body, headers={**admin, **key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    changed = await tickets_client.post(
        "/v1/queues", json={**body, "members": []}, headers={**admin, **key}
    )
    assert changed.status_code == 422
    taken = await tickets_client.post("/v1/queues", json=body, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["code"] == "QueueNameInUse"
    trader = as_role("trader", "front")
    assert (await tickets_client.post("/v1/queues", json=body, headers=trader)).status_code == 403

    queue = await read(
        tickets_client, admin, f"/v1/queues/{first.json()['id']}", first.json()["position"]
    )
    assert queue["members"] == [{"member": "user:al", "available": True}]
    assert queue["priority_matrix"] == [[1, 1, 2, 3], [1, 2, 3, 3], [2, 3, 3, 4], [3, 3, 4, 4]]
    default = await read(tickets_client, admin, "/v1/queues", 0)
    assert "it-support" in [q["name"] for q in default["items"]]


@pytest.mark.parametrize(
    "q",
    [
        "-" * 50,
        "- " * 60,
        "-!" * 60,
        "-(" * 60,
        "-&-|" * 40,
        "a <-> b :* & | ! ((( \"unbalanced 'quotes",
        'vpn -"-"-"-" or or -',
    ],
    ids=["50 hyphens", "spaced hyphens", "not-not", "nested", "and-or", "operators", "mixed"],
)
async def test_a_search_of_tsquery_operators_is_an_answer_not_a_server_error(
    tickets_client: httpx.AsyncClient, as_role: Headers, q: str
) -> None:
    """websearch_to_tsquery nests one NOT per hyphen of such a run and fails beyond 32."""
    agent = as_role("it-support")
    await open_ticket(tickets_client, agent, title="VPN drops every hour")

    response = await tickets_client.get("/v1/tickets", params={"q": q}, headers=agent)

    assert response.status_code == 200, response.text


async def test_a_search_longer_than_200_characters_is_a_422_naming_q(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    response = await tickets_client.get(
        "/v1/tickets", params={"q": "-" * 201}, headers=as_role("it-support")
    )

    assert response.status_code == 422
    assert response.json()["field"] == "query.q"

"""Links between tickets: parent/child, caused-by problem (resolving the problem resolves
its incidents), duplicate-of (merging closes the duplicate and points to the survivor)."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

from .tickets_api import open_ticket, post, read

pytestmark = pytest.mark.integration


async def test_resolving_a_problem_resolves_its_incidents(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    agent, trader = as_role("it-support"), as_role("trader", "front")
    problem = (await open_ticket(tickets_client, agent, ticket_type="problem", title="Bad NIC"))[
        "id"
    ]
    incidents = [
        (await open_ticket(tickets_client, trader, title=f"Slow {n}"))["id"] for n in range(3)
    ]
    for incident in incidents[:2]:
        linked = await post(
            tickets_client,
            agent,
            f"/v1/tickets/{incident}/links",
            {"kind": "caused_by", "target_id": problem},
        )
        assert linked.status_code == 201, linked.text
    not_a_problem = await post(
        tickets_client,
        agent,
        f"/v1/tickets/{incidents[2]}/links",
        {"kind": "caused_by", "target_id": incidents[0]},
    )
    assert not_a_problem.status_code == 422
    assert not_a_problem.json()["code"] == "NotAProblem"

    resolved = await post(
        tickets_client,
        agent,
        f"/v1/tickets/{problem}/transitions",
        {"to": "resolved", "reason": "NIC replaced", "resolve_linked_incidents": True},
    )
    assert resolved.status_code == 200, resolved.text

    position = resolved.json()["position"]
    statuses = [
        (await read(tickets_client, agent, f"/v1/tickets/{i}", position))["status"]
        for i in incidents
    ]
    assert statuses == ["resolved", "resolved", "new"]
    seen = await read(tickets_client, agent, f"/v1/tickets/{problem}", position)
    assert sorted(link["target_id"] for link in seen["links"]) == sorted(incidents[:2])
    assert {link["kind"] for link in seen["links"]} == {"causes"}


async def test_merging_a_duplicate_closes_it_and_points_to_the_survivor(
    tickets_client: httpx.AsyncClient, as_role: Headers
) -> None:
    agent, trader = as_role("it-support"), as_role("trader", "front")
    survivor = (await open_ticket(tickets_client, trader, title="VPN down"))["id"]
    duplicate = (await open_ticket(tickets_client, trader, title="VPN not working"))["id"]
    parent = (await open_ticket(tickets_client, agent, title="VPN rollout"))["id"]
    child = await post(
        tickets_client,
        agent,
        f"/v1/tickets/{survivor}/links",
        {"kind": "child_of", "target_id": parent},
    )
    assert child.status_code == 201

    merged = await post(
        tickets_client,
        agent,
        f"/v1/tickets/{duplicate}/merge",
        {"survivor_id": survivor, "reason": "same outage"},
    )
    assert merged.status_code == 200, merged.text
    position = merged.json()["position"]

    gone = await read(tickets_client, trader, f"/v1/tickets/{duplicate}", position)
    assert (gone["status"], gone["merged_into"]) == ("closed", survivor)
    assert gone["links"] == [{"kind": "duplicate_of", "target_id": survivor}]
    kept = await read(tickets_client, agent, f"/v1/tickets/{survivor}", position)
    assert kept["status"] == "new"
    assert sorted((link["kind"], link["target_id"]) for link in kept["links"]) == [
        ("child_of", parent),
        ("duplicated_by", duplicate),
    ]
    again = await post(
        tickets_client,
        agent,
        f"/v1/tickets/{duplicate}/merge",
        {"survivor_id": survivor, "reason": "again"},
    )
    assert again.status_code == 409

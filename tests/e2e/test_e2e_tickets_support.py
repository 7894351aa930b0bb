"""IT support through the gateway, as its users meet it: a front-office user opens an incident,
IT support takes it, replies, notes something internal and resolves it; the requester sees the
public reply and the resolution, never the internal note; a monitoring system raises and clears
an incident with its API key."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import System, login

pytestmark = pytest.mark.e2e


async def read(
    gateway: httpx.AsyncClient, path: str, headers: dict[str, str], position: int
) -> httpx.Response:
    response = await gateway.get(
        path, params={"min_position": position, "wait_ms": 10_000}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistent") == "true"
    return response


def written(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_front_office_incident_is_taken_answered_and_resolved_by_it_support(
    module_system: System,
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        admin, trader = await login(gateway, "admin"), await login(gateway, "trader")
        agent, stranger = (
            await login(gateway, "it-support"),
            await login(gateway, "customer-service"),
        )
        queue = written(
            await gateway.post(
                "/tickets/v1/queues",
                json={
                    "name": f"desk-{uuid.uuid4().hex[:8]}",
                    "escalation_group": "it-managers",
                    "members": ["it-support", "it-support-2"],
                },
                headers=admin,
            ),
            201,
        )

        opened = written(
            await gateway.post(
                "/tickets/v1/tickets",
                json={
                    "ticket_type": "incident",
                    "queue_id": queue["id"],
                    "impact": 2,
                    "urgency": 1,
                    "title": "Trading screen frozen",
                    "description": "The order blotter stopped updating at 09:12.",
                    "configuration_item": "host:trade-ws-17",
                },
                headers={**trader, "Idempotency-Key": f"e2e-{uuid.uuid4()}"},
            ),
            201,
        )
        ticket_id = opened["id"]
        path = f"/tickets/v1/tickets/{ticket_id}"

        # The front office may open but not work tickets: the gateway refuses before the service.
        refused = await gateway.post(f"{path}/assignment", json={}, headers=trader)
        assert refused.status_code == 403, refused.text

        taken = written(await gateway.post(f"{path}/assignment", json={}, headers=agent))
        replied = written(
            await gateway.post(
                f"{path}/replies",
                json={"body": "We are restarting the market-data feed; back in 10 minutes."},
                headers=agent,
            ),
            201,
        )
        written(
            await gateway.post(
                f"{path}/notes",
                json={"body": "Feed handler leaked memory again, see problem PRB-7."},
                headers=agent,
            ),
            201,
        )
        stale = await gateway.post(
            f"{path}/transitions",
            json={"to": "resolved", "reason": "feed restarted"},
            headers={**agent, "If-Match": str(taken["version"])},
        )
        assert stale.status_code == 412, stale.text  # a failed If-Match (RFC 9110)
        resolved = written(
            await gateway.post(
                f"{path}/transitions",
                json={"to": "resolved", "reason": "feed restarted, blotter updates again"},
                headers=agent,
            )
        )
        assert resolved["version"] > replied["version"]

        ticket = (await read(gateway, path, trader, resolved["position"])).json()
        assert ticket["status"] == "resolved"
        assert ticket["assignee"] == "it-support"
        assert ticket["priority"] in (1, 2)

        mine = (await read(gateway, f"{path}/conversation", trader, resolved["position"])).json()
        bodies = [m["body"] for m in mine["items"]]
        assert bodies == ["We are restarting the market-data feed; back in 10 minutes."]
        theirs = (await read(gateway, f"{path}/conversation", agent, resolved["position"])).json()
        assert len(theirs["items"]) == 2

        history = await gateway.get(f"{path}/history", headers=trader)
        assert history.status_code == 200, history.text
        assert "PRB-7" not in history.text
        assert "feed restarted, blotter updates again" in history.text

        # Another front-office user is not told that the ticket exists.
        hidden = await gateway.get(path, headers=stranger)
        assert hidden.status_code == 404, hidden.text


async def test_a_monitoring_system_raises_one_incident_per_host_and_check_and_clears_it(
    module_system: System, identity_keys: tuple[Path, Path]
) -> None:
    key = (identity_keys[0].parent / "demo-monitoring-system-api-key.txt").read_text().strip()
    monitor = {"X-API-Key": key}
    host = f"db-{uuid.uuid4().hex[:6]}"
    alert = {"host": host, "check": "disk_free", "state": "firing", "summary": "disk 93 % full"}
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        agent = await login(gateway, "it-support")
        first = written(await gateway.post("/tickets/v1/alerts", json=alert, headers=monitor))
        again = written(
            await gateway.post(
                "/tickets/v1/alerts", json={**alert, "summary": "disk 97 % full"}, headers=monitor
            )
        )
        assert first["ticket_id"] and again["ticket_id"] == first["ticket_id"]
        cleared = written(
            await gateway.post(
                "/tickets/v1/alerts", json={**alert, "state": "resolved"}, headers=monitor
            )
        )
        assert cleared["ticket_id"] == first["ticket_id"]
        path = f"/tickets/v1/tickets/{first['ticket_id']}"
        ticket = (await read(gateway, path, agent, cleared["position"])).json()
        assert ticket["status"] == "resolved"
        assert ticket["ticket_type"] == "incident"

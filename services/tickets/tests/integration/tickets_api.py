"""Small helpers for calling the tickets API in tests."""

from __future__ import annotations

from typing import Any

import httpx


async def create_queue(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, **fields: Any
) -> str:
    body = {"name": name, "escalation_group": f"{name}-managers", **fields}
    response = await client.post("/v1/queues", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def open_ticket(
    client: httpx.AsyncClient, headers: dict[str, str], queue_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_type": "incident",
        "impact": 3,
        "urgency": 3,
        "title": "Printer on floor 3 jams",
        **fields,
    }
    if queue_id is not None:
        body["queue_id"] = queue_id
    response = await client.post("/v1/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    written: dict[str, Any] = response.json()
    return written


async def read(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, position: int, **params: Any
) -> dict[str, Any]:
    """GET after the read model reached ``position`` (read your writes)."""
    response = await client.get(
        path, params={"min_position": position, "wait_ms": 10000, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistent") == "true", path
    body: dict[str, Any] = response.json()
    return body


async def post(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any],
    version: int | None = None,
) -> httpx.Response:
    extra = {"If-Match": str(version)} if version is not None else {}
    return await client.post(path, json=body, headers={**headers, **extra})

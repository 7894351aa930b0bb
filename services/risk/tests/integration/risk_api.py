"""Small helpers for calling the risk register API in tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[..., dict[str, str]]


def risk_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Settlement system outage",
        "description": "The settlement system fails during the cut-off window.",
        "category": "it",
        "owner": "user:olga",
        "likelihood": 3,
        "impact": 4,
        **fields,
    }


async def write(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any],
    *,
    expect: int = 200,
    method: str = "POST",
    version: int | None = None,
) -> dict[str, Any]:
    if version is not None:
        headers = {**headers, "If-Match": str(version)}
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def read(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, position: int, **params: Any
) -> dict[str, Any]:
    """GET after every read model reached ``position`` (read your writes)."""
    response = await client.get(
        path, params={"min_position": position, "wait_ms": 10000, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistent") == "true", path
    body: dict[str, Any] = response.json()
    return body

"""Small helpers for calling the ledger API in tests: open accounts, build entries, post."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx


async def open_account(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    code: str,
    kind: str,
    currency: str = "EUR",
    **flags: Any,
) -> str:
    response = await client.post(
        "/v1/accounts",
        json={
            "code": code,
            "name": f"Account {code}",
            "account_type": kind,
            "currency": currency,
            **flags,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def entry(
    debit: str,
    credit: str,
    amount: int,
    *,
    booking_date: str = "2026-11-26",
    voucher: str | None = None,
    currency: str = "EUR",
    **fields: Any,
) -> dict[str, Any]:
    """An entry of two lines; without ``voucher`` it gets a voucher number of its own (a
    number identifies one voucher per fiscal year)."""
    voucher = voucher or f"RE-{uuid.uuid4().hex[:12]}"
    return {
        "voucher_number": voucher,
        "booking_date": booking_date,
        "text": f"Test {voucher}",
        "lines": [
            {"account_id": debit, "side": "debit", "amount": amount, "currency": currency},
            {"account_id": credit, "side": "credit", "amount": amount, "currency": currency},
        ],
        **fields,
    }


async def post(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/journal-entries", json=body, headers=headers)


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


async def settle(client: httpx.AsyncClient, headers: dict[str, str], *positions: int) -> None:
    """Wait until the read model has applied every one of these positions (each on its own
    partition), so a report over all of them is complete."""
    for position in positions:
        response = await client.get(
            "/v1/periods", params={"min_position": position, "wait_ms": 10000}, headers=headers
        )
        assert response.headers.get("X-Consistent") == "true", position


async def eventually(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    seconds: float = 15,
    **params: Any,
) -> dict[str, Any]:
    """GET until ``done`` holds for the answer: for reads over many partitions at once."""
    for _ in range(int(seconds / 0.05)):
        response = await client.get(path, params=params, headers=headers)
        if response.status_code == 200 and done(response.json()):
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never got there: {response.status_code} {response.text[:500]}")

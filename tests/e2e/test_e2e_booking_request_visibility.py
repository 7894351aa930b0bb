"""Through the gateway, the front office reads only the booking requests it submitted itself
(people and systems alike): another's is 404 as an unknown one is, and lists are narrowed to
the caller; the back office and the auditor read them all."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import System, login
from .test_e2e_ledger_books import entry, open_account

pytestmark = pytest.mark.e2e


async def listed(
    gateway: httpx.AsyncClient, auth: dict[str, str], position: int, **params: Any
) -> set[str]:
    response = await gateway.get(
        "/ledger/v1/booking-requests",
        params={"min_position": position, "wait_ms": 10000, "limit": 500, **params},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-consistent"] == "true"
    return {item["request_id"] for item in response.json()["items"]}


async def test_front_office_reads_only_its_own_booking_requests_through_the_gateway(
    module_system: System, identity_keys: tuple[Path, Path]
) -> None:
    key = (identity_keys[0].parent / "demo-api-key.txt").read_text().strip()
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        accountant, auditor = await login(gateway, "accountant"), await login(gateway, "auditor")
        front = {
            "trader": await login(gateway, "trader"),
            "customer-service": await login(gateway, "customer-service"),
            "trading-system": {"X-API-Key": key},
        }
        number = uuid.uuid4().int % 10**7  # accounts of their own: the system is shared
        fees = await open_account(gateway, accountant, f"4{number:07d}", "expense")
        bank = await open_account(gateway, accountant, f"1{number:07d}", "asset")
        mine: dict[str, str] = {}
        for who, auth in front.items():
            voucher = f"BR-{uuid.uuid4().hex[:8]}"
            submitted = await gateway.post(
                "/ledger/v1/booking-requests",
                json=entry(fees, bank, 10_00, "2026-11-26", voucher),
                headers=auth,
            )
            assert submitted.status_code == 201, submitted.text
            mine[who] = submitted.json()["id"]
            position = submitted.json()["position"]

        for who, auth in front.items():
            others = set(mine.values()) - {mine[who]}
            assert await listed(gateway, auth, position) == {mine[who]}, who
            assert await listed(gateway, auth, position, submitted_by="accountant") == set()
            for other in others:
                read = await gateway.get(f"/ledger/v1/booking-requests/{other}", headers=auth)
                assert (read.status_code, read.json()["code"]) == (404, "NotFound"), who
            own = await gateway.get(f"/ledger/v1/booking-requests/{mine[who]}", headers=auth)
            assert (own.status_code, own.json()["submitted_by"]) == (200, who)

        for reader in (accountant, auditor):
            assert await listed(gateway, reader, position) >= set(mine.values())
            by_trader = await listed(gateway, reader, position, submitted_by="trader")
            assert mine["trader"] in by_trader and mine["trading-system"] not in by_trader
            for request_id in mine.values():
                path = f"/ledger/v1/booking-requests/{request_id}"
                assert (await gateway.get(path, headers=reader)).status_code == 200, path

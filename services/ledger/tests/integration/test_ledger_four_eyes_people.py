"""Four-eyes decisions on booking requests are made by people: a system (an API key, identity
kind ``system``) with a back-office bookkeeping role may submit, but never approve or reject."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

from .test_ledger_booking_requests import funded_bank, submit

pytestmark = pytest.mark.integration


async def test_a_system_with_the_accountant_role_may_not_decide_a_booking_request(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant = as_role("accountant", subject="user:anna")
    accounts = await funded_bank(ledger_client, accountant)
    trading = as_role("trader", "front", subject="trading-system", kind="system")
    submitted = await submit(ledger_client, trading, accounts, 100_00)
    assert submitted.status_code == 201, submitted.text
    request = f"/v1/booking-requests/{submitted.json()['id']}"
    robot = as_role("accountant", subject="booking-robot", kind="system")

    approved = await ledger_client.post(f"{request}/approval", headers=robot)
    rejected = await ledger_client.post(
        f"{request}/rejection", json={"reason": "robots say no"}, headers=robot
    )
    by_person = await ledger_client.post(f"{request}/approval", headers=accountant)

    for refused in (approved, rejected):
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "PersonRequired"
        assert "booking-robot" in refused.json()["detail"]
    assert by_person.status_code == 200, by_person.text

"""Four-eyes decisions are made by people: a system (an API key, identity kind ``system``)
holding the approver's role and office may request, but never approve, a limit, a risk
acceptance or a KRI threshold change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from .risk_api import Headers, risk_body, write

pytestmark = pytest.mark.integration


def system(as_role: Headers, name: str) -> dict[str, str]:
    """A back-office system with the risk-officer role, as the gateway vouches for it."""
    return as_role("risk-officer", subject=name, kind="system")


def refused_as_not_a_person(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["code"] == "PersonRequired"


async def test_a_system_may_request_a_limit_but_not_approve_one(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    body = {"dimension": "desk", "desk": f"FX-{uuid4().hex[:6]}", "currency": "EUR"}
    requested = await write(
        risk_client,
        system(as_role, "limit-feed"),
        "/v1/limits",
        {**body, "amount": 1_000_00, "reason": "new desk"},
        expect=201,
    )
    approval = f"/v1/limits/{requested['id']}/approval"

    by_system = await risk_client.post(approval, headers=system(as_role, "risk-robot"))
    by_person = await risk_client.post(approval, headers=as_role(subject="user:bert"))

    assert refused_as_not_a_person(by_system), by_system.text
    assert by_person.status_code == 200, by_person.text


async def test_a_system_may_not_approve_a_risk_acceptance(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role(subject="user:anna")
    made = await write(
        risk_client, anna, "/v1/risks", risk_body(likelihood=2, impact=2), expect=201
    )
    treatment = {"treatment": "accept", "reason": "cheaper to bear"}
    await write(risk_client, anna, f"/v1/risks/{made['id']}/treatment", treatment, method="PUT")
    asked = await write(
        risk_client,
        anna,
        f"/v1/risks/{made['id']}/acceptances",
        {
            "reason": "retires soon",
            "until": (datetime.now(UTC) + timedelta(days=90)).date().isoformat(),
        },
        expect=201,
    )
    approval = f"/v1/risks/{made['id']}/acceptances/{asked['child_id']}/approval"

    by_system = await risk_client.post(approval, json={}, headers=system(as_role, "risk-robot"))
    by_person = await risk_client.post(approval, json={}, headers=as_role(subject="user:bert"))

    assert refused_as_not_a_person(by_system), by_system.text
    assert by_person.status_code == 200, by_person.text


async def test_a_system_may_not_approve_a_kri_threshold_change(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role(subject="user:anna")
    kri_id = f"kri-{uuid4().hex[:8]}"
    kri = {
        "kri_id": kri_id,
        "name": "Failed payments",
        "unit": "count",
        "direction": "higher_is_worse",
        "amber": 5,
        "red": 10,
        "owner": "user:payments-lead",
    }
    await write(risk_client, anna, "/v1/kris", kri, expect=201)
    requested = await write(
        risk_client,
        anna,
        f"/v1/kris/{kri_id}/threshold-changes",
        {"amber": 2, "red": 6, "reason": "tighter after the audit"},
        expect=201,
    )
    approval = f"/v1/kris/{kri_id}/threshold-changes/{requested['change_id']}/approval"

    by_system = await risk_client.post(approval, json={}, headers=system(as_role, "risk-robot"))
    by_person = await risk_client.post(approval, json={}, headers=as_role(subject="user:bert"))

    assert refused_as_not_a_person(by_system), by_system.text
    assert by_person.status_code == 200, by_person.text

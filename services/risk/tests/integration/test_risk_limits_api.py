"""Limits over HTTP against real PostgreSQL and Kafka: four-eyes requests and approvals,
versions kept, stale If-Match and bad input refused, roles enforced, and the pre-deal check
saying no without a limit."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from shared_kernel.testing import Headers

from .risk_api import read

pytestmark = pytest.mark.integration


def limit_body(**overrides: Any) -> dict[str, Any]:
    return {
        "dimension": "counterparty",
        "counterparty": f"ACME-{uuid4().hex[:6]}",
        "currency": "EUR",
        "amount": 1_000_00,
        "reason": "new client",
        **overrides,
    }


async def request_limit(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/v1/limits", json=limit_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    written: dict[str, Any] = response.json()
    return written


async def test_four_eyes_on_limits_and_every_version_kept(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    created = await request_limit(risk_client, anna)
    limit_id = created["id"]
    path = f"/v1/limits/{limit_id}"

    own = await risk_client.post(f"{path}/approval", headers=anna)
    assert own.status_code == 403, own.text
    assert own.json()["code"] == "FourEyesViolation"
    for headers, code in (
        (as_role("risk-officer", "front", "user:tom"), "BackOfficeRequired"),
        (as_role("controller", subject="user:carl"), "RoleRequired"),
    ):
        refused = await risk_client.post(f"{path}/approval", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == code
    pending = await read(risk_client, anna, path, created["position"])
    assert pending["active"] is False and pending["current"] is None
    assert pending["pending_request"]["requested_by"] == "user:anna"

    approved = await risk_client.post(
        f"{path}/approval", headers={**bert, "If-Match": str(created["version"])}
    )
    assert approved.status_code == 200, approved.text
    version_1 = await read(risk_client, anna, path, approved.json()["position"])
    assert version_1["active"] is True
    assert version_1["current"]["amount"] == 1_000_00
    assert version_1["current"]["warning_threshold"] == 0.8

    # A change by bert: bert may not approve it; a stale If-Match is refused.
    change = await risk_client.post(
        f"{path}/change-requests",
        json={"amount": 2_000_00, "warning_threshold": 0.9, "reason": "more business"},
        headers={**bert, "If-Match": str(approved.json()["version"])},
    )
    assert change.status_code == 200, change.text
    stale = await risk_client.post(
        f"{path}/approval", headers={**anna, "If-Match": str(approved.json()["version"])}
    )
    assert stale.status_code == 412, stale.text
    again = await risk_client.post(f"{path}/approval", headers=bert)
    assert again.status_code == 403 and again.json()["code"] == "FourEyesViolation"
    done = await risk_client.post(f"{path}/approval", headers=anna)
    assert done.status_code == 200, done.text

    versions = await read(risk_client, anna, f"{path}/versions", done.json()["position"])
    assert [
        (v["version"], v["amount"], v["warning_threshold"], v["requested_by"], v["approved_by"])
        for v in versions["versions"]
    ] == [
        (1, 1_000_00, 0.8, "user:anna", "user:bert"),
        (2, 2_000_00, 0.9, "user:bert", "user:anna"),
    ]
    auditor = await risk_client.get(f"{path}/versions", headers=as_role("auditor", "none"))
    assert auditor.status_code == 200
    trader = await risk_client.get(path, headers=as_role("trader", "front"))
    assert trader.status_code == 403


async def test_rejected_request_leaves_the_limit_unchanged(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    anna = as_role("risk-officer", subject="user:anna")
    bert = as_role("risk-officer", subject="user:bert")
    created = await request_limit(risk_client, anna)
    path = f"/v1/limits/{created['id']}"
    no_reason = await risk_client.post(f"{path}/rejection", json={"reason": ""}, headers=bert)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    rejected = await risk_client.post(f"{path}/rejection", json={"reason": "no"}, headers=bert)
    assert rejected.status_code == 200, rejected.text
    nothing = await risk_client.post(f"{path}/approval", headers=bert)
    assert nothing.status_code == 409 and nothing.json()["code"] == "NoPendingLimitChange"
    view = await read(risk_client, anna, path, rejected.json()["position"])
    assert view["current"] is None and view["pending_request"] is None and not view["active"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "1000.00"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"dimension": "planet"}, "dimension"),
        ({"desk": "FX"}, "desk"),
        ({"counterparty": None}, "counterparty"),
        ({"warning_threshold": 1.5}, "warning_threshold"),
        ({"valid_from": "2026-12-01T00:00:00Z", "valid_to": "2026-11-01T00:00:00Z"}, "valid_to"),
        ({"valid_from": "2026-12-01T00:00:00"}, "valid_from"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_limit_requests_are_refused_naming_the_field(
    risk_client: httpx.AsyncClient, as_role: Headers, overrides: dict[str, Any], field: str
) -> None:
    response = await risk_client.post(
        "/v1/limits", json=limit_body(**overrides), headers=as_role("risk-officer")
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_only_back_office_risk_officers_request_limits(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    for headers in (as_role("trader", "front"), as_role("controller"), as_role("auditor", "none")):
        response = await risk_client.post("/v1/limits", json=limit_body(), headers=headers)
        assert response.status_code == 403, response.text
    assert (await risk_client.post("/v1/limits", json=limit_body())).status_code == 401


async def test_pre_deal_check_without_a_limit_says_no(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    trader = as_role("trader", "front")
    answer = await risk_client.post(
        "/v1/pre-deal-checks",
        json={"counterparty": "NOBODY", "currency": "EUR", "amount": 100},
        headers=trader,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["allowed"] is False and body["limits"] == []
    assert "no deal without a limit" in body["reasons"][0]
    bad = await risk_client.post(
        "/v1/pre-deal-checks", json={"currency": "EUR", "amount": 100}, headers=trader
    )
    assert bad.status_code == 422, bad.text
    negative = await risk_client.post(
        "/v1/pre-deal-checks",
        json={"desk": "FX", "currency": "EUR", "amount": -1},
        headers=trader,
    )
    assert negative.status_code == 422 and negative.json()["field"] == "amount"


async def test_measures_for_an_unknown_breach_are_refused(
    risk_client: httpx.AsyncClient, as_role: Headers
) -> None:
    response = await risk_client.post(
        f"/v1/limit-breaches/{uuid4()}/measures",
        json={"measures": "called the client"},
        headers=as_role("risk-officer"),
    )
    assert response.status_code == 404, response.text

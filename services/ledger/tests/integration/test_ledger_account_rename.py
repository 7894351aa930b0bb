"""Renaming an account over HTTP: the new name reaches the account, the listing and the trial
balance, and a rebuild from Kafka gives the same answers; a stale If-Match, a blank name, an
unknown account and a caller without a bookkeeping role are refused, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ledger.bootstrap import Ledger
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post, read
from .test_ledger_upcasting import rebuild_every_read_model

pytestmark = pytest.mark.integration


async def names(client: httpx.AsyncClient, headers: dict[str, str], account: str) -> list[str]:
    """The account's name as the detail, the listing and November's trial balance show it."""
    detail = (await client.get(f"/v1/accounts/{account}", headers=headers)).json()
    listing = (await client.get("/v1/accounts", headers=headers)).json()["items"]
    trial = await client.get(
        "/v1/reports/trial-balance", params={"period": "2026-11"}, headers=headers
    )
    return [
        detail["name"],
        *(a["name"] for a in listing if a["account_id"] == account),
        *(a["name"] for a in trial.json()["accounts"] if a["account_id"] == account),
    ]


async def test_a_renamed_account_shows_its_new_name_everywhere_and_after_a_rebuild(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(ledger_client, headers, "1200", "asset")
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    posted = await post(ledger_client, headers, entry(bank, revenue, 100))
    before = await read(ledger_client, headers, f"/v1/accounts/{bank}", posted.json()["position"])
    url = f"/v1/accounts/{bank}/name"

    first = await ledger_client.put(
        url,
        json={"name": "  Bank Sparkasse ", "reason": "bank merged"},
        headers={**headers, "If-Match": str(before["version"])},
    )
    assert first.status_code == 200, first.text
    assert (first.json()["id"], first.json()["version"]) == (bank, before["version"] + 1)
    stale = await ledger_client.put(
        url,
        json={"name": "Bank Köln", "reason": "moved"},
        headers={**headers, "If-Match": str(before["version"])},
    )
    assert (stale.status_code, stale.json()["field"]) == (412, "If-Match")
    second = await ledger_client.put(  # If-Match is optional, as for closing
        url, json={"name": "Bank Sparkasse Köln", "reason": "moved"}, headers=headers
    )
    assert second.status_code == 200, second.text
    same = await ledger_client.put(
        url, json={"name": "Bank Sparkasse Köln", "reason": "again"}, headers=headers
    )
    assert (same.status_code, same.json()["code"]) == (409, "AccountNameUnchanged")

    view = await read(ledger_client, headers, f"/v1/accounts/{bank}", second.json()["position"])
    assert (view["name"], view["version"]) == ("Bank Sparkasse Köln", before["version"] + 2)
    assert await names(ledger_client, headers, bank) == ["Bank Sparkasse Köln"] * 3
    ledger: Ledger = ledger_client.ledger  # type: ignore[attr-defined]
    await rebuild_every_read_model(ledger)
    assert await names(ledger_client, headers, bank) == ["Bank Sparkasse Köln"] * 3


async def test_bad_renames_are_4xx_naming_the_field_and_change_nothing(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(ledger_client, headers, "1200", "asset")
    url = f"/v1/accounts/{bank}/name"
    refusals: list[tuple[dict[str, str], dict[str, Any], int, str | None]] = [
        (headers, {"name": "   ", "reason": "x"}, 422, "name"),
        (headers, {"name": "", "reason": "x"}, 422, "name"),
        (headers, {"name": "x" * 201, "reason": "x"}, 422, "name"),
        (headers, {"name": "a\u0000b", "reason": "x"}, 422, "name"),
        (headers, {"name": "Bank"}, 422, "reason"),
        (as_role("trader", "front"), {"name": "Bank", "reason": "x"}, 403, None),
        (as_role("auditor", "oversight"), {"name": "Bank", "reason": "x"}, 403, None),
    ]
    for caller, body, status, field in refusals:
        answer = await ledger_client.put(url, json=body, headers=caller)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        if field is not None:
            assert answer.json()["field"] == field, (body, answer.json())
    unknown = await ledger_client.put(
        "/v1/accounts/no-such-account/name", json={"name": "Bank", "reason": "x"}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["field"]) == (404, "account_id")

    closed = await ledger_client.post(
        f"/v1/accounts/{bank}/closing", json={"reason": "moved banks"}, headers=headers
    )
    assert closed.status_code == 200, closed.text
    late = await ledger_client.put(url, json={"name": "Old bank", "reason": "x"}, headers=headers)
    assert (late.status_code, late.json()["code"]) == (409, "AccountClosed")
    view = await read(ledger_client, headers, f"/v1/accounts/{bank}", closed.json()["position"])
    assert (view["name"], view["version"]) == ("Account 1200", 2)

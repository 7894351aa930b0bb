"""Bulk posting over HTTP: all entries or none, and every refused entry named by its index."""

from __future__ import annotations

import httpx
import pytest
from shared_kernel.testing import Headers

from .ledger_api import entry, eventually, open_account, read

pytestmark = pytest.mark.integration


async def test_a_batch_posts_every_entry_atomically(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(ledger_client, headers, "1200", "asset")
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    entries = [entry(bank, revenue, 100 + n, voucher=f"B-{n}") for n in range(500)]

    answer = await ledger_client.post(
        "/v1/journal-entry-batches",
        json={"entries": entries},
        headers={**headers, "Idempotency-Key": "batch-1"},
    )
    assert answer.status_code == 201, answer.text
    written = answer.json()
    assert written["count"] == 500
    assert len(set(written["entry_ids"])) == 500
    replay = await ledger_client.post(
        "/v1/journal-entry-batches",
        json={"entries": entries},
        headers={**headers, "Idempotency-Key": "batch-1"},
    )
    assert replay.json() == written

    last = await read(
        ledger_client,
        headers,
        f"/v1/journal-entries/{written['entry_ids'][-1]}",
        written["position"],
    )
    assert last["position"] == written["position"]
    account = await eventually(
        ledger_client, headers, f"/v1/accounts/{bank}", lambda a: a["line_count"] == 500
    )
    assert account["balance"] == sum(100 + n for n in range(500))
    first = await eventually(
        ledger_client,
        headers,
        f"/v1/journal-entries/{written['entry_ids'][0]}",
        lambda e: True,
    )
    assert (first["voucher_number"], first["batch_id"]) == ("B-0", written["batch_id"])


async def test_a_batch_with_refused_entries_posts_nothing_and_names_each_refusal(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank = await open_account(
        ledger_client, headers, "1200", "asset", balance_constraint="credits_must_not_exceed_debits"
    )
    revenue = await open_account(ledger_client, headers, "8400", "revenue")
    unbalanced = entry(bank, revenue, 100)
    unbalanced["lines"][1]["amount"] = 99
    entries = [
        entry(bank, revenue, 100, voucher="ok-0"),
        unbalanced,
        entry(bank, revenue, 100, voucher="ok-2"),
        entry(bank, "0192a3f4-7b1e-7c3d-9f00-5a1b2c3d4e5f", 100),
        # Spends 250 of the 200 the earlier good entries bring in: no overdraft.
        entry(revenue, bank, 250, voucher="spend"),
        {**entry(bank, revenue, 1), "voucher_number": "  "},
    ]

    answer = await ledger_client.post(
        "/v1/journal-entry-batches", json={"entries": entries}, headers=headers
    )

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "BulkPostingRefused"
    assert [(e["index"], e["field"], e["code"]) for e in problem["errors"]] == [
        (1, "lines", "Unbalanced"),
        (3, "lines[1].account_id", "UnknownAccount"),
        (4, "lines[1].amount", "InsufficientFunds"),
        (5, "voucher_number", "VoucherNumberRequired"),
    ]
    page = await ledger_client.get("/v1/journal-entries", headers=headers)
    assert page.json()["items"] == []


async def test_malformed_entries_are_named_by_index_too(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    good = entry("a", "b", 1)
    bad = entry("a", "b", 1)
    bad["lines"][0]["amount"] = "ten"
    answer = await ledger_client.post(
        "/v1/journal-entry-batches", json={"entries": [good, good, bad]}, headers=headers
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["index"], error["field"], error["code"]) == (
        2,
        "lines[0].amount",
        "InvalidRequest",
    )
    too_many = await ledger_client.post(
        "/v1/journal-entry-batches", json={"entries": [good] * 10_001}, headers=headers
    )
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "entries"

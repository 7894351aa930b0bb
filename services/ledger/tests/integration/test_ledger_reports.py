"""A month of books over HTTP, then every report: trial balance, balances at a date, account
statement, balance sheet, profit and loss, the auditors' export; and a rebuild of the read
model from Kafka reproduces every one of them exactly."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from shared_kernel.rebuild import rebuild
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post, settle

pytestmark = pytest.mark.integration


async def keep_the_books(
    client: httpx.AsyncClient, as_role: Headers
) -> tuple[dict[str, str], list[int]]:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    ids = {
        name: await open_account(client, accountant, code, kind, currency)
        for name, code, kind, currency in [
            ("capital", "0800", "equity", "EUR"),
            ("bank", "1200", "asset", "EUR"),
            ("receivables", "1400", "asset", "EUR"),
            ("payables", "1600", "liability", "EUR"),
            ("purchases", "4400", "expense", "EUR"),
            ("revenue", "8400", "revenue", "EUR"),
            ("bank_usd", "1210", "asset", "USD"),
            ("revenue_usd", "8410", "revenue", "USD"),
        ]
    }
    positions: list[int] = []

    async def book(debit: str, credit: str, amount: int, day: str, voucher: str, **kw: Any) -> str:
        answer = await post(
            client,
            accountant,
            entry(ids[debit], ids[credit], amount, booking_date=day, voucher=voucher, **kw),
        )
        assert answer.status_code == 201, answer.text
        positions.append(answer.json()["position"])
        return str(answer.json()["id"])

    await book("bank", "capital", 10_000_00, "2026-10-01", "EB-1")
    closed = await client.post("/v1/periods/2026-10/closing", headers=accountant)
    positions.append(closed.json()["position"])
    await book(
        "receivables",
        "revenue",
        1_190_00,
        "2026-11-05",
        "AR-1",
        metadata={"counterparty": "ACME GmbH", "desk": "sales"},
    )
    await book("purchases", "payables", 500_00, "2026-11-10", "ER-1", voucher_date="2026-11-08")
    await book("bank_usd", "revenue_usd", 300_00, "2026-11-12", "AR-2", currency="USD")
    wrong = await book("purchases", "payables", 99_00, "2026-11-13", "ER-2")
    reversal = await client.post(
        f"/v1/journal-entries/{wrong}/reversal", json={"reason": "duplicate"}, headers=accountant
    )
    positions.append(reversal.json()["position"])
    await book("bank", "receivables", 1_190_00, "2026-11-20", "KA-1")
    request = await client.post(
        "/v1/booking-requests",
        json=entry(ids["purchases"], ids["bank"], 42_00, booking_date="2026-11-25", voucher="ER-3"),
        headers=trader,
    )
    approved = await client.post(
        f"/v1/booking-requests/{request.json()['id']}/approval", headers=accountant
    )
    assert approved.status_code == 200, approved.text
    positions += [request.json()["position"], approved.json()["position"]]
    await settle(client, accountant, *positions)
    return ids, positions


REPORTS: list[tuple[str, dict[str, str | int]]] = [
    ("/v1/reports/trial-balance", {"period": "2026-11"}),
    ("/v1/reports/trial-balance", {"period": "2026-10"}),
    ("/v1/reports/balances", {"as_of": "2026-11-15"}),
    ("/v1/reports/balance-sheet", {"as_of": "2026-11-30"}),
    ("/v1/reports/profit-and-loss", {"from": "2026-11-01", "to": "2026-11-30"}),
    ("/v1/accounts", {}),
    ("/v1/journal-entries", {"limit": 500}),
    ("/v1/booking-requests", {}),
    ("/v1/periods", {}),
    ("/v1/exports/periods/2026-11/journal.csv", {}),
    ("/v1/exports/periods/2026-11/accounts.csv", {}),
]


async def snapshot(
    client: httpx.AsyncClient, headers: dict[str, str], ids: dict[str, str]
) -> dict[str, Any]:
    taken: dict[str, Any] = {}
    paths: list[tuple[str, dict[str, str | int]]] = [
        *REPORTS,
        (f"/v1/accounts/{ids['bank']}/statement", {"from": "2026-11-01", "to": "2026-11-30"}),
    ]
    for path, params in paths:
        answer = await client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, f"{path}: {answer.text}"
        taken[f"{path} {params}"] = answer.text if path.endswith(".csv") else answer.json()
    return taken


async def test_reports_of_a_month_of_books_and_a_rebuild_reproduces_them(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    ids, _ = await keep_the_books(ledger_client, as_role)
    reader = as_role("risk-officer")

    november = (
        await ledger_client.get(
            "/v1/reports/trial-balance", params={"period": "2026-11"}, headers=reader
        )
    ).json()
    rows = {a["code"]: a for a in november["accounts"]}
    assert november["status"] == "open"
    assert (rows["1200"]["opening_balance"], rows["1200"]["debits"], rows["1200"]["credits"]) == (
        10_000_00,
        1_190_00,
        42_00,
    )
    assert rows["1200"]["closing_balance"] == 10_000_00 + 1_190_00 - 42_00
    assert (rows["4400"]["debits"], rows["4400"]["credits"], rows["4400"]["closing_balance"]) == (
        500_00 + 99_00 + 42_00,
        99_00,
        542_00,
    )
    eur, usd = november["totals"]
    assert (eur["currency"], usd["currency"]) == ("EUR", "USD")
    for total in (eur, usd):
        assert total["debits"] == total["credits"]
        assert total["opening_debit_balances"] == total["opening_credit_balances"]
        assert total["closing_debit_balances"] == total["closing_credit_balances"]
    assert eur["opening_debit_balances"] == 10_000_00

    mid = (
        await ledger_client.get(
            "/v1/reports/balances", params={"as_of": "2026-11-15"}, headers=reader
        )
    ).json()
    balances = {a["code"]: a["balance"] for a in mid["accounts"]}
    assert (balances["1200"], balances["1400"], balances["4400"]) == (10_000_00, 1_190_00, 500_00)

    sheet = (
        await ledger_client.get(
            "/v1/reports/balance-sheet", params={"as_of": "2026-11-30"}, headers=reader
        )
    ).json()
    eur_sheet = sheet["currencies"][0]
    assert eur_sheet["balanced"] and sheet["currencies"][1]["balanced"]
    assert eur_sheet["asset"]["total"] == 10_000_00 + 1_190_00 - 42_00
    assert eur_sheet["result"] == 1_190_00 - 542_00

    pnl = (
        await ledger_client.get(
            "/v1/reports/profit-and-loss",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            headers=reader,
        )
    ).json()
    assert [(c["currency"], c["result"]) for c in pnl["currencies"]] == [
        ("EUR", 1_190_00 - 542_00),
        ("USD", 300_00),
    ]

    statement = (
        await ledger_client.get(
            f"/v1/accounts/{ids['bank']}/statement",
            params={"from": "2026-11-01", "to": "2026-11-30", "limit": 1},
            headers=reader,
        )
    ).json()
    assert statement["opening_balance"] == 10_000_00
    assert statement["closing_balance"] == 10_000_00 + 1_190_00 - 42_00
    assert [(i["voucher_number"], i["balance"]) for i in statement["items"]] == [
        ("KA-1", 11_190_00)
    ]
    second = (
        await ledger_client.get(
            f"/v1/accounts/{ids['bank']}/statement",
            params={"from": "2026-11-01", "to": "2026-11-30", "cursor": statement["next_cursor"]},
            headers=reader,
        )
    ).json()
    assert [(i["voucher_number"], i["balance"]) for i in second["items"]] == [("ER-3", 11_148_00)]

    auditor = as_role("auditor", "none")
    index = (
        await ledger_client.get("/v1/exports/periods/2026-11/index.json", headers=auditor)
    ).json()
    journal_table = index["media"][0]["tables"][0]
    journal = await ledger_client.get("/v1/exports/periods/2026-11/journal.csv", headers=auditor)
    assert journal.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(journal.text)))
    assert list(lines[0]) == [c["name"] for c in journal_table["columns"]]
    assert len(lines) == 2 * 7  # seven November entries of two lines each
    sale = next(row for row in lines if row["voucher_number"] == "AR-1")
    assert (sale["amount"], sale["amount_minor"], sale["account_code"]) == (
        "1190.00",
        "119000",
        "1400",
    )
    assert '"counterparty": "ACME GmbH"' in sale["metadata"]
    assert sum(int(r["amount_minor"]) * (1 if r["side"] == "debit" else -1) for r in lines) == 0
    refused = await ledger_client.get(
        "/v1/exports/periods/2026-11/journal.csv", headers=as_role("risk-officer")
    )
    assert refused.status_code == 403

    before = await snapshot(ledger_client, as_role("accountant"), ids)
    ledger = ledger_client.ledger  # type: ignore[attr-defined]
    [projection] = ledger.runtime.projections
    report = await rebuild(
        projection,
        ledger.runtime.read_models[projection.name],
        ledger.runtime.settings.kafka_bootstrap_servers,
        ledger.runtime.dead_letters(),
    )
    assert report.generation == 2
    after = await snapshot(ledger_client, as_role("accountant"), ids)
    assert after == before

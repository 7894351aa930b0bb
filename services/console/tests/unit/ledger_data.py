"""API answers of the ledger, shaped as its API documents them, for the console's unit tests."""

from __future__ import annotations

from typing import Any

LEDGER_ROUTES = [
    "GET /ledger/v1/accounts",
    "GET /ledger/v1/accounts/{account_id}",
    "GET /ledger/v1/accounts/{account_id}/statement",
    "GET /ledger/v1/journal-entries",
    "GET /ledger/v1/journal-entries/{entry_id}",
    "POST /ledger/v1/journal-entries",
    "POST /ledger/v1/journal-entries/{entry_id}/reversal",
    "GET /ledger/v1/booking-requests",
    "GET /ledger/v1/booking-requests/{request_id}",
    "POST /ledger/v1/booking-requests",
    "POST /ledger/v1/booking-requests/{request_id}/approval",
    "POST /ledger/v1/booking-requests/{request_id}/rejection",
    "GET /ledger/v1/reports/trial-balance",
    "GET /ledger/v1/reports/balance-sheet",
    "GET /ledger/v1/reports/profit-and-loss",
    "GET /ledger/v1/periods",
    "POST /ledger/v1/periods/{period}/closing",
    "GET /ledger/v1/verification",
    "GET /cases/{correlation_id}",
]
AUDITOR_ROUTES = [r for r in LEDGER_ROUTES if r.startswith("GET ")]


def account(account_id: str, code: str, name: str, kind: str, balance: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "code": code,
        "name": name,
        "account_type": kind,
        "normal_side": "debit" if kind in ("asset", "expense") else "credit",
        "currency": "EUR",
        "parent_code": None,
        "balance_constraint": "none",
        "credit_limit": 0,
        "opened_at": "2026-11-02T09:00:00Z",
        "closed_at": None,
        "closed_by": None,
        "version": 1,
        "debit_total": balance,
        "credit_total": 0,
        "balance": balance,
        "debit_pending": 0,
        "credit_pending": 0,
        "available_balance": balance,
        "headroom": None,
        "line_count": 1,
    }


BANK = account("acc-bank", "1200", "Bank", "asset", 123456)
REVENUE = account("acc-revenue", "8400", "Revenue", "revenue", 123456)


def lines(amount: int) -> list[dict[str, Any]]:
    return [
        {"line_no": 1, "account_id": "acc-bank", "account_code": "1200", "side": "debit",
         "amount": amount, "currency": "EUR"},
        {"line_no": 2, "account_id": "acc-revenue", "account_code": "8400", "side": "credit",
         "amount": amount, "currency": "EUR"},
    ]  # fmt: skip


def entry(entry_id: str = "entry-1", **changes: Any) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "voucher_number": "V-100",
        "voucher_date": "2026-11-30",
        "booking_date": "2026-11-30",
        "period": "2026-11",
        "text": "Consulting fee ACME",
        "source_document": None,
        "metadata": {},
        "recorded_at": "2026-11-30T10:00:00Z",
        "recorded_by": "accountant",
        "approved_by": None,
        "request_id": None,
        "reverses": None,
        "reversed_by": None,
        "batch_id": None,
        "correlation_id": "case-1",
        "version": 1,
        "position": 42,
        "lines": [
            {**line, "booking_date": "2026-11-30", "position": 42, "entry_id": entry_id}
            for line in lines(123456)
        ],
        **changes,
    }


def booking_request(submitted_by: str = "trader", **changes: Any) -> dict[str, Any]:
    request = {
        "request_id": "req-1",
        "status": "pending",
        "voucher_number": "D-7",
        "voucher_date": "2026-11-30",
        "booking_date": "2026-11-30",
        "period": "2026-11",
        "text": "Deal with ACME",
        "source_document": None,
        "metadata": {"counterparty": "ACME GmbH", "desk": "rates"},
        "submitted_by": submitted_by,
        "submitted_at": "2026-11-30T09:00:00Z",
        "expires_at": "2026-12-07T09:00:00Z",
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "entry_id": None,
        "clearance": {"status": "cleared", "code": None, "reason": None, "limit_id": None,
                      "shortfall": None, "currency": None},
        "version": 2,
        "position": 50,
        "lines": lines(500000),
    }  # fmt: skip
    return {**request, **changes}


TRIAL_BALANCE = {
    "period": "2026-11",
    "status": "open",
    "accounts": [
        {**{k: BANK[k] for k in ("account_id", "code", "name", "account_type", "normal_side",
                                 "currency", "parent_code")},
         "opening_balance": 0, "debits": 123456, "credits": 0, "closing_balance": 123456},
        {**{k: REVENUE[k] for k in ("account_id", "code", "name", "account_type", "normal_side",
                                    "currency", "parent_code")},
         "opening_balance": 0, "debits": 0, "credits": 123456, "closing_balance": 123456},
    ],
    "totals": [{"currency": "EUR", "debits": 123456, "credits": 123456,
                "opening_debit_balances": 0, "opening_credit_balances": 0,
                "closing_debit_balances": 123456, "closing_credit_balances": 123456}],
}  # fmt: skip

"""API answers as the services give them, for the My work and Team tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime.now(UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def booking_request(
    request_id: str,
    submitted_by: str,
    *,
    status: str = "pending",
    clearance: str = "not_required",
    amount: int = 123456,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "status": status,
        "voucher_number": f"V-{request_id}",
        "text": f"Deal {request_id}",
        "submitted_by": submitted_by,
        "submitted_at": ago(hours=2),
        "expires_at": (NOW + timedelta(days=3)).isoformat(),
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "clearance": {"status": clearance},
        "lines": [
            {"line_no": 1, "side": "debit", "amount": amount, "currency": "EUR"},
            {"line_no": 2, "side": "credit", "amount": amount, "currency": "EUR"},
        ],
        **fields,
    }


def ticket(
    ticket_id: str, assignee: str | None, *, status: str = "open", **fields: Any
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "title": f"Ticket {ticket_id}",
        "queue_id": "q-it",
        "priority": 2,
        "status": status,
        "assignee": assignee,
        "requester": "trader",
        "opened_at": ago(hours=3),
        "first_response_at": None,
        "first_response_due_at": (NOW + timedelta(hours=1)).isoformat(),
        "first_response_warning_at": ago(minutes=10),
        "resolution_due_at": (NOW + timedelta(hours=20)).isoformat(),
        "resolution_warning_at": (NOW + timedelta(hours=15)).isoformat(),
        "first_response_warned": True,
        "first_response_breached": False,
        "resolution_warned": False,
        "resolution_breached": False,
        **fields,
    }


def limit(limit_id: str, requested_by: str | None, counterparty: str = "ACME") -> dict[str, Any]:
    pending = (
        {
            "request_id": f"r-{limit_id}",
            "change": "create",
            "amount": 5_000_000_00,
            "reason": "new client",
            "requested_by": requested_by,
            "requested_at": ago(days=1),
        }
        if requested_by
        else None
    )
    return {
        "id": limit_id,
        "dimension": "counterparty",
        "counterparty": counterparty,
        "desk": None,
        "currency": "EUR",
        "pending_request": pending,
    }


def breach(
    breach_id: str, *, measures: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": breach_id,
        "kind": "breached",
        "limit_id": f"limit-{breach_id}",
        "dimension": "counterparty",
        "counterparty": f"CP-{breach_id}",
        "desk": None,
        "currency": "EUR",
        "exposure": 120_00,
        "limit_amount": 100_00,
        "utilisation": 1.2,
        "at": ago(days=2),
        "measures": measures or [],
        **fields,
    }


def risk(risk_id: str, acceptance_by: str | None) -> dict[str, Any]:
    return {
        "risk_id": risk_id,
        "title": f"Risk {risk_id}",
        "owner": "risk-officer",
        "residual": {"level": "high"},
        "acceptance_status": "requested" if acceptance_by else None,
        "acceptance": (
            {
                "acceptance_id": f"a-{risk_id}",
                "status": "requested",
                "reason": "cost of control too high",
                "until": "2027-06-30",
                "requested_by": acceptance_by,
                "requested_at": ago(days=3),
            }
            if acceptance_by
            else None
        ),
    }


def kri(kri_id: str, pending_change: str | None) -> dict[str, Any]:
    return {
        "kri_id": kri_id,
        "name": f"KRI {kri_id}",
        "amber": 5.0,
        "red": 10.0,
        "pending_change_id": pending_change,
    }


def threshold_change(change_id: str, requested_by: str) -> dict[str, Any]:
    return {
        "change_id": change_id,
        "state": "pending",
        "direction": "above",
        "amber": 6.0,
        "red": 12.0,
        "reason": "seasonal peak",
        "requested_by": requested_by,
        "requested_at": ago(hours=5),
    }


def page(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": None}

"""Risk API answers for the console's unit tests, shaped as the risk service answers."""

from __future__ import annotations

from typing import Any

RISK_OFFICER_ROUTES = [
    "GET /risk/v1/reports/heat-map",
    "GET /risk/v1/risks",
    "POST /risk/v1/risks",
    "GET /risk/v1/risks/{risk_id}",
    "GET /risk/v1/risks/{risk_id}/history",
    "POST /risk/v1/risks/{risk_id}/assessments",
    "POST /risk/v1/risks/{risk_id}/controls",
    "PUT /risk/v1/risks/{risk_id}/treatment",
    "POST /risk/v1/risks/{risk_id}/actions",
    "POST /risk/v1/risks/{risk_id}/reviews",
    "POST /risk/v1/risks/{risk_id}/acceptances",
    "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/approval",
    "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/rejection",
    "GET /risk/v1/limits",
    "POST /risk/v1/limits",
    "GET /risk/v1/limits/{limit_id}",
    "GET /risk/v1/limits/{limit_id}/versions",
    "POST /risk/v1/limits/{limit_id}/change-requests",
    "POST /risk/v1/limits/{limit_id}/approval",
    "POST /risk/v1/limits/{limit_id}/rejection",
    "POST /risk/v1/limit-breaches/{breach_id}/measures",
    "GET /risk/v1/reports/limit-utilisation",
    "GET /risk/v1/reports/breaches",
    "POST /risk/v1/pre-deal-checks",
    "GET /risk/v1/kris",
    "GET /risk/v1/kris/{kri_id}/measurements",
    "GET /cases/{correlation_id}",
]
AUDITOR_ROUTES = [route for route in RISK_OFFICER_ROUTES if route.startswith("GET ")]

LIMIT_ID = "0193a1b2-0000-7000-8000-000000000001"
BREACH_ID = "0193a1b2-0000-7000-8000-0000000000b1"
RISK_ID = "0193a1b2-0000-7000-8000-00000000r001"


def heat_map() -> dict[str, Any]:
    levels = [
        ["low", "low", "low", "medium", "medium"],
        ["low", "low", "medium", "medium", "high"],
        ["low", "medium", "medium", "high", "high"],
        ["medium", "medium", "high", "high", "critical"],
        ["medium", "high", "high", "critical", "critical"],
    ]
    inherent = [[0] * 5 for _ in range(5)]
    residual = [[0] * 5 for _ in range(5)]
    inherent[3][4] = 3
    residual[1][2] = 3
    return {
        "rows": "likelihood 1..5",
        "columns": "impact 1..5",
        "inherent": inherent,
        "residual": residual,
        "levels": levels,
        "total": 3,
    }


def rating(likelihood: int, impact: int, level: str) -> dict[str, Any]:
    return {
        "likelihood": likelihood,
        "impact": impact,
        "score": likelihood * impact,
        "level": level,
    }


def risk_summary(risk_id: str, title: str, residual: tuple[int, int]) -> dict[str, Any]:
    return {
        "risk_id": risk_id,
        "title": title,
        "category": "operational",
        "owner": "head-of-ops",
        "status": "open",
        "inherent": rating(4, 5, "critical"),
        "residual": rating(*residual, "medium"),
        "treatment": "mitigate",
        "last_reviewed_on": "2026-11-01",
        "review_due": "2026-12-01",
        "acceptance_status": "requested",
        "review_overdue": True,
        "overdue_actions": 0,
        "version": 4,
        "position": 99,
    }


def risk(requested_by: str = "risk-officer") -> dict[str, Any]:
    return {
        **risk_summary(RISK_ID, "Payment system outage", (2, 3)),
        "description": "The payment hub fails for a day.",
        "identified_at": "2026-10-01T08:00:00Z",
        "identified_by": "risk-officer",
        "closed_at": None,
        "controls": [
            {
                "control_id": "control-2",
                "name": "Standby hub",
                "description": "",
                "effectiveness": "strong",
                "reduces": "likelihood",
                "added_at": "2026-10-02T08:00:00Z",
                "changed_at": "2026-10-02T08:00:00Z",
            }
        ],
        "actions": [],
        "acceptance": {
            "acceptance_id": "acceptance-4",
            "status": "requested",
            "reason": "Residual within appetite",
            "until": "2027-06-30",
            "requested_by": requested_by,
            "requested_at": "2026-12-01T09:00:00Z",
            "decided_by": None,
            "decided_at": None,
            "note": None,
        },
    }


def history() -> dict[str, Any]:
    assessment = {"inherent": rating(4, 5, "critical"), "residual": rating(2, 3, "medium")}
    return {
        "risk_id": RISK_ID,
        "events": [
            {
                "position": 10,
                "version": 1,
                "event_type": "RiskIdentified",
                "recorded_at": "2026-10-01T08:00:00Z",
                "actor": "risk-officer",
                "office": "back",
                "correlation_id": "case-identified-1",
                "data": {"assessment": assessment},
            },
            {
                "position": 12,
                "version": 4,
                "event_type": "RiskAcceptanceRequested",
                "recorded_at": "2026-12-01T09:00:00Z",
                "actor": "risk-officer",
                "office": "back",
                "correlation_id": "case-acceptance-4",
                "data": {"reason": "Residual within appetite"},
            },
        ],
    }


def limit(
    used: float = 0.85, state: str = "warning", pending_by: str | None = None
) -> dict[str, Any]:
    amount = 100_000
    pending = None
    if pending_by:
        pending = {
            "request_id": "req-2",
            "change": True,
            "amount": 150_000,
            "warning_threshold_bp": 8000,
            "valid_from": "2026-12-01T00:00:00Z",
            "valid_to": None,
            "reason": "bigger deals",
            "requested_by": pending_by,
            "requested_at": "2026-12-02T10:00:00Z",
        }
    return {
        "id": LIMIT_ID,
        "dimension": "counterparty",
        "counterparty": "ACME",
        "desk": None,
        "currency": "EUR",
        "active": True,
        "current": {
            "version": 1,
            "amount": amount,
            "warning_threshold": 0.8,
            "valid_from": "2026-11-01T00:00:00Z",
            "valid_to": None,
        },
        "pending_request": pending,
        "exposure": {"posted": round(amount * used), "pending": 0, "total": round(amount * used)},
        "utilisation": used,
        "headroom": amount - round(amount * used),
        "threshold_state": state,
        "requested_by": "risk-officer",
        "requested_at": "2026-11-01T00:00:00Z",
        "version": 3,
        "position": 120,
    }


def versions() -> dict[str, Any]:
    return {
        "limit_id": LIMIT_ID,
        "versions": [
            {
                "version": 1,
                "request_id": "req-1",
                "amount": 100_000,
                "warning_threshold": 0.8,
                "valid_from": "2026-11-01T00:00:00Z",
                "valid_to": None,
                "requested_by": "risk-officer",
                "approved_by": "risk-officer-2",
                "approved_at": "2026-11-01T01:00:00Z",
            }
        ],
    }


def breach(measures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": BREACH_ID,
        "kind": "breached",
        "threshold": "limit",
        "limit_id": LIMIT_ID,
        "limit_version": 1,
        "dimension": "counterparty",
        "counterparty": "ACME",
        "desk": None,
        "currency": "EUR",
        "exposure": 105_000,
        "limit_amount": 100_000,
        "utilisation": 1.05,
        "state": "breached",
        "cause": "JournalEntryPosted",
        "cause_id": "entry-9",
        "at": "2026-12-02T11:00:00Z",
        "correlation_id": "case-breach-1",
        "position": 130,
        "measures": measures or [],
    }


def kri(kri_id: str = "failed-payments", name: str = "Failed payments") -> dict[str, Any]:
    return {
        "kri_id": kri_id,
        "name": name,
        "description": "",
        "unit": "%",
        "direction": "higher_is_worse",
        "amber": 2.0,
        "red": 5.0,
        "source": "measurement",
        "stream_rule": None,
        "owner": "head-of-payments",
        "status": "amber",
        "value": 3.5,
        "measured_at": "2026-12-03T06:00:00Z",
        "measurement_id": "m3",
        "measurement_count": 3,
        "status_since": "2026-12-03T06:00:00Z",
        "pending_change_id": None,
        "defined_by": "risk-officer",
        "defined_at": "2026-11-01T00:00:00Z",
        "version": 4,
        "position": 140,
        "updated_at": "2026-12-03T06:00:00Z",
    }


def measurements() -> dict[str, Any]:
    def one(value: float, day: int, status: str) -> dict[str, Any]:
        return {
            "measurement_id": f"m{day}",
            "value": value,
            "measured_at": f"2026-12-0{day}T06:00:00Z",
            "status": status,
            "current": True,
            "source": "monitoring",
            "recorded_by": "monitoring",
            "recorded_at": f"2026-12-0{day}T06:00:01Z",
            "position": 130 + day,
        }

    return {
        "items": [one(3.5, 3, "amber"), one(1.5, 2, "green"), one(1.0, 1, "green")],
        "next_cursor": None,
    }


def kri_with_history(
    kri_id: str = "failed-payments", name: str = "Failed payments"
) -> dict[str, Any]:
    """A KRI as ``GET /v1/kris?history=n`` lists it: with its latest measurements, newest
    first (the items ``GET /v1/kris/{kri_id}/measurements`` answers)."""
    return {**kri(kri_id, name), "history": measurements()["items"]}

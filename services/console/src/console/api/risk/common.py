"""What the risk pages share: the API routes they are gated on, and small form helpers."""

from __future__ import annotations

from collections.abc import Mapping

from console.adapters.gateway import ApiRefusal
from console.api.web import Visit

HEAT_MAP = "GET /risk/v1/reports/heat-map"
IDENTIFY_RISK = "POST /risk/v1/risks"
LIST_RISKS = "GET /risk/v1/risks"
READ_RISK = "GET /risk/v1/risks/{risk_id}"
RISK_HISTORY = "GET /risk/v1/risks/{risk_id}/history"
APPROVE_ACCEPTANCE = "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/approval"
REJECT_ACCEPTANCE = "POST /risk/v1/risks/{risk_id}/acceptances/{acceptance_id}/rejection"
LIMIT_UTILISATION = "GET /risk/v1/reports/limit-utilisation"
LIST_LIMITS = "GET /risk/v1/limits"
READ_LIMIT = "GET /risk/v1/limits/{limit_id}"
LIMIT_VERSIONS = "GET /risk/v1/limits/{limit_id}/versions"
REQUEST_LIMIT = "POST /risk/v1/limits"
REQUEST_LIMIT_CHANGE = "POST /risk/v1/limits/{limit_id}/change-requests"
APPROVE_LIMIT = "POST /risk/v1/limits/{limit_id}/approval"
REJECT_LIMIT = "POST /risk/v1/limits/{limit_id}/rejection"
BREACHES = "GET /risk/v1/reports/breaches"
RECORD_MEASURES = "POST /risk/v1/limit-breaches/{breach_id}/measures"
LIST_KRIS = "GET /risk/v1/kris"
KRI_MEASUREMENTS = "GET /risk/v1/kris/{kri_id}/measurements"
PRE_DEAL_CHECK = "POST /risk/v1/pre-deal-checks"

# The ids the risk API accepts in its paths (checked here too: a bad one never reaches it).
RISK_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
UUID = r"^[0-9a-fA-F-]{36}$"
CATEGORIES = ("credit", "market", "liquidity", "operational", "it", "compliance")
LEVELS = ("low", "medium", "high", "critical")


# How long a page after one's own change waits for the read model to show it.
READ_YOUR_WRITES_MS = 3000


def after_write(visit: Visit) -> dict[str, int]:
    """Query parameters that make the risk API answer only once its read models show the
    write a redirect named (``?after=<position>``): the operator sees what they just did."""
    after = visit.request.query_params.get("after", "")
    if not after.isdigit() or len(after) > 18:
        return {}
    return {"min_position": int(after), "wait_ms": READ_YOUR_WRITES_MS}


def written_at(answer: object) -> str:
    """``?after=<position>`` for the redirect after a command, from its answer."""
    position = answer.get("position") if isinstance(answer, dict) else None
    return f"?after={position}" if isinstance(position, int) else ""


def version_header(fields: Mapping[str, str]) -> dict[str, str]:
    """``If-Match`` with the version the operator saw when deciding, so that a decision on
    something changed meanwhile is refused (409) instead of applied to what they never saw."""
    version = fields.get("version", "")
    return {"If-Match": version} if version.isdigit() else {}


def shown(refusal: ApiRefusal) -> ApiRefusal:
    """A refusal to show on the form's page; an ended session goes to the log-in page."""
    if refusal.status == 401:
        raise refusal
    return refusal


def bad_input(visit: Visit, detail: str, field: str | None = None) -> ApiRefusal:
    """Typed input the console cannot send (422), in the API's refusal shape."""
    errors = [{"field": field, "message": detail}] if field else []
    return ApiRefusal(
        422, visit.formats._("Please check your input"), detail, "InvalidInput", errors
    )

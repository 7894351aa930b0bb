"""The gateway's metrics: every request it records, by the route template that decided it.

Counted where the audit record is written (``AuditMiddleware``), which knows what a generic
middleware does not: a proxied request's route is the policy's template of the service route
(``/ledger/v1/accounts/{account_id}``, never the raw path), the office is the verified
caller's, and the reason names a refused log-in or a rate limit. ``/metrics`` itself, health
and documentation pages are neither audited nor counted.
"""

from __future__ import annotations

from shared_kernel.metrics import (
    LOGIN_FAILURES,
    RATE_LIMIT_REFUSALS,
    RequestCounter,
    route_template,
)
from starlette.types import Scope

from gateway.adapters.audit import Decision

SERVICE = "gateway"
LOGIN_ROUTE = "/auth/login"


class GatewayMetrics:
    def __init__(self) -> None:
        self.requests = RequestCounter(SERVICE)

    def observe(
        self, scope: Scope, decision: Decision, status: int, reason: str, seconds: float
    ) -> None:
        """Count one recorded request; ``reason`` is the audit record's (why it was allowed
        or refused)."""
        route = decision.route or route_template(scope)
        self.requests.observe(route, scope["method"], status, decision.office, seconds)
        if status == 429:
            RATE_LIMIT_REFUSALS.labels(SERVICE, reason).inc()
        elif route == LOGIN_ROUTE and status in (401, 403):
            LOGIN_FAILURES.labels(SERVICE, reason).inc()

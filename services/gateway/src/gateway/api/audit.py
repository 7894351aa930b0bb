"""Exactly one audit record per request, written when the answer is complete.

Being the one place that writes records, this middleware makes "each request leaves exactly one
record" true by construction, whatever refused the request: the policy, the credentials, a rate
limit, the body size, an unknown route or method. The code that decides notes why on the
request's ``Decision``; what it does not note is read from the answer: the status, and for a
problem answered by the gateway itself, its ``code``. Health and documentation pages decide
nothing and are not recorded.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, Literal

from shared_kernel.web import PROBLEM_JSON, problem
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.adapters.audit import AuditLog, AuditRecord, Decision, begin_decision, end_decision
from gateway.api.client_address import client_address_of
from gateway.api.metrics import GatewayMetrics
from gateway.domain.policy import Policy

UNAUDITED = frozenset(
    {
        "/health",
        "/health/live",
        "/health/ready",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/docs/oauth2-redirect",
        "/asyncapi.json",
        "/asyncapi",
        "/schemas",
        "/metrics",
    }
)
# The event schemas (``/schemas/<service>/<file>``): documents like /openapi.json.
UNAUDITED_PREFIXES = ("/schemas/",)
MAX_PROBLEM_BYTES = 8192
MAX_PATH = 512


class AuditMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        audit: AuditLog,
        policy: Policy,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.app = app
        self.audit = audit
        self.policy = policy
        self.metrics = metrics  # counts each recorded request (by its route template)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in UNAUDITED
            or scope["path"].startswith(UNAUDITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        decision, token = begin_decision()
        answer = _Answer()

        async def observing_send(message: Message) -> None:
            answer.observe(message)
            if answer.complete and not answer.recorded:
                self._record(scope, decision, answer)
            await send(message)

        try:
            if not self.audit.accepting:
                # Fail closed: a request that cannot be accounted for is not served.
                decision.deny("AuditUnavailable")
                unavailable = problem(
                    503,
                    "Audit trail unavailable",
                    "the gateway cannot record decisions at the moment; retry later",
                    code="AuditUnavailable",
                    headers={"Retry-After": "5"},
                )
                await unavailable(scope, receive, observing_send)
            else:
                await self.app(scope, receive, observing_send)
        except BaseException:
            if not answer.recorded:
                answer.status = answer.status or 500
                if decision.decision != "deny":
                    decision.deny("InternalError")
                self._record(scope, decision, answer)
            raise
        finally:
            end_decision(token)
            if not answer.recorded:  # the app returned without answering: still one record
                answer.status = answer.status or 500
                self._record(scope, decision, answer)

    def _record(self, scope: Scope, decision: Decision, answer: _Answer) -> None:
        answer.recorded = True
        status = answer.status or 500
        verdict: Literal["allow", "deny"]
        if decision.decision == "allow" or (decision.decision is None and status < 400):
            verdict, reason = "allow", decision.reason or "Allowed"
        else:
            verdict = "deny"
            reason = (
                (decision.reason if decision.decision == "deny" else None)
                or answer.problem_code()
                or f"HTTP{status}"
            )
        address = client_address_of(scope)
        state = scope.get("state", {})
        self.audit.record(
            AuditRecord(
                time=datetime.now(UTC),
                request_id=str(state.get("request_id", "-")),
                subject=decision.subject,
                kind=decision.kind,
                office=decision.office,
                roles=decision.roles,
                method=scope["method"],
                route=decision.route or self._route(scope),
                path=scope["path"][:MAX_PATH],
                status=status,
                decision=verdict,
                reason=reason,
                client=address.peer,
                forwarded_client=address.forwarded,
                client_request_id=state.get("client_request_id"),
                target=decision.target,
            )
        )
        if self.metrics is not None:
            self.metrics.observe(scope, decision, status, reason, answer.elapsed())

    def _route(self, scope: Scope) -> str:
        """The route template that served the request; for a proxied request, the policy's
        template of the service route (``/ledger/v1/accounts/{account_id}``)."""
        params: dict[str, Any] = scope.get("path_params", {})
        if isinstance(params.get("service"), str) and isinstance(params.get("path"), str):
            try:
                rule = self.policy.rule_for(
                    params["service"], scope["method"], "/v1/" + params["path"]
                )
            except Exception:  # a malformed path: the raw path is all there is
                rule = None
            if rule is not None:
                return f"/{rule.service}{rule.template.text}"
        route = scope.get("route")
        template = getattr(route, "path", None)
        return str(template) if template else scope["path"][:MAX_PATH]


class _Answer:
    """What the middleware sees of the answer: status, and the body of a problem."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.status: int | None = None
        self.is_problem = False
        self.body = bytearray()
        self.complete = False
        self.recorded = False

    def observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            self.is_problem = content_type.startswith(PROBLEM_JSON)
        elif message["type"] == "http.response.body":
            if self.is_problem and len(self.body) < MAX_PROBLEM_BYTES:
                self.body.extend(message.get("body", b"")[: MAX_PROBLEM_BYTES - len(self.body)])
            self.complete = not message.get("more_body", False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def problem_code(self) -> str | None:
        if not self.is_problem:
            return None
        try:
            code = json.loads(bytes(self.body)).get("code")
        except (ValueError, AttributeError):
            return None
        return str(code) if code else None

"""Forwarding a caller's request to a service: check the route's method, authorise by policy,
vouch for the caller.

Fail closed: the decision is made by code that refuses on any error it did not foresee (403),
never by code whose failure could let a request through."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from shared_kernel.errors import DomainError, NotFound, PermissionDenied
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner

from gateway.adapters.audit import current_decision
from gateway.adapters.upstream import UpstreamClient, UpstreamResponse
from gateway.app.catalogue import ServiceCatalogue
from gateway.domain.policy import MethodNotAllowed, Policy, RouteRule, path_segments

log = logging.getLogger(__name__)

# Client headers the services may see; everything else (X-Backoffice-* above all) is dropped.
FORWARDED_HEADERS = ("content-type", "accept", "idempotency-key", "if-match")
REQUEST_ID_HEADER = "X-Request-Id"


@dataclass(frozen=True)
class ProxiedRequest:
    """A request for ``/<service><path>``; ``path`` is decoded and starts with ``/v1/``.

    ``read_body`` is called only once the caller is authorised, so a refused caller cannot make
    the gateway read a large body."""

    service: str
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    read_body: Callable[[], Awaitable[bytes]]
    request_id: str


class Proxy:
    def __init__(
        self,
        policy: Policy,
        signer: IdentitySigner,
        upstream: UpstreamClient,
        routes: ServiceCatalogue,
    ) -> None:
        self._policy = policy
        self._signer = signer
        self._upstream = upstream
        self._routes = routes

    async def forward(self, identity: Caller, request: ProxiedRequest) -> UpstreamResponse:
        if not self._upstream.knows(request.service):
            raise NotFound(f"no service named {request.service!r}", code="UnknownService")
        segments = path_segments(request.path)
        rule = self._decide(identity, request, segments)
        headers = {
            name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers
        }
        vouched = replace(identity, request_id=request.request_id)
        headers[IDENTITY_HEADER] = self._signer.sign(vouched, audience=request.service)
        headers[REQUEST_ID_HEADER] = request.request_id
        body = await request.read_body()
        # The decision, for the audit trail: from here on the service answers, not the gateway.
        current_decision().allow("PolicyAllowed", route=f"/{rule.service}{rule.template.text}")
        return await self._upstream.send(
            request.service, request.method, segments, request.query, headers, body
        )

    def _decide(
        self, identity: Caller, request: ProxiedRequest, segments: tuple[str, ...]
    ) -> RouteRule:
        """405 when the route exists without this method, else the policy's verdict. Any
        unforeseen error while deciding is a refusal."""
        method = request.method.upper()
        try:
            allowed = self._routes.allowed_methods(request.service, segments)
            if allowed is not None and method not in allowed:
                raise MethodNotAllowed(method, f"/{request.service}{request.path}", allowed)
            return self._policy.authorize(
                request.service,
                method,
                request.path,
                identity.roles,
                person=identity.is_person,
            )
        except DomainError:
            raise
        except Exception as exc:
            log.exception(
                "access decision failed for %s /%s%s", method, request.service, request.path
            )
            raise PermissionDenied(
                "the access decision could not be made, so the request is refused",
                code="DecisionFailed",
            ) from exc

"""Forwarding a caller's request to a service: authorise by policy, vouch for the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from shared_kernel.errors import NotFound
from shared_kernel.identity import IDENTITY_HEADER, Identity, IdentitySigner

from gateway.adapters.upstream import UpstreamClient, UpstreamResponse
from gateway.domain.policy import Policy, path_segments

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
    def __init__(self, policy: Policy, signer: IdentitySigner, upstream: UpstreamClient) -> None:
        self._policy = policy
        self._signer = signer
        self._upstream = upstream

    async def forward(self, identity: Identity, request: ProxiedRequest) -> UpstreamResponse:
        if not self._upstream.knows(request.service):
            raise NotFound(f"no service named {request.service!r}", code="UnknownService")
        segments = path_segments(request.path)
        self._policy.authorize(request.service, request.method, request.path, identity.roles)
        headers = {
            name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers
        }
        vouched = replace(identity, request_id=request.request_id)
        headers[IDENTITY_HEADER] = self._signer.sign(vouched, audience=request.service)
        headers[REQUEST_ID_HEADER] = request.request_id
        body = await request.read_body()
        return await self._upstream.send(
            request.service, request.method, segments, request.query, headers, body
        )

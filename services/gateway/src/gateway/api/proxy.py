"""``/<service>/v1/<path>``: every method, forwarded to the service once the policy allows it.

The busiest route of the gateway is a plain Starlette route (``ProxyRoute``), twice in the
route table: first for the configured services, so that a proxied request does not try the
gateway's own routes one regex each before it (their first segments are reserved names, which
no service may have); and last for every other first segment (an unknown service, or one of
the gateway's own paths with another method: 404 or 405). Its only parameters are two strings
from the path, so FastAPI's dependency solving and validation had nothing to do but cost
time: measured on this machine, the two changes took 0.05-0.1 ms off a read's latency
through the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from shared_kernel.web import problem
from starlette.routing import Match, Route
from starlette.types import Scope

from gateway.api.deps import caller_of
from gateway.api.errors import BodyTooLarge
from gateway.app.proxy import ProxiedRequest
from gateway.bootstrap import Gateway
from gateway.domain.policy import MethodNotAllowed

PROXY_PATH = "/{service}/v1/{path:path}"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
OWN_ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed ``limit`` bytes (by its
    Content-Length, or while reading a body sent without one)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class ProxyRoute(Route):
    """``PROXY_PATH`` for every method of ``METHODS``; with ``services``, only for paths whose
    first segment is one of them. Like FastAPI's routes, it notes itself as the scope's
    ``route`` (the request's span is named by its template)."""

    def __init__(self, services: Iterable[str] | None = None) -> None:
        super().__init__(PROXY_PATH, forward, methods=METHODS, include_in_schema=False)
        self.services = None if services is None else frozenset(services)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.NONE:
            return match, child_scope
        if self.services is not None and child_scope["path_params"]["service"] not in self.services:
            return Match.NONE, {}
        child_scope["route"] = self
        return match, child_scope


async def forward(request: Request) -> Response:
    service, path = request.path_params["service"], request.path_params["path"]
    # The caller first, as a dependency would be (``caller_of``: without FastAPI's).
    identity = await caller_of(request)
    gateway = cast(Gateway, request.app.state.gateway)
    request_id = identity.request_id

    async def body() -> bytes:
        return await read_body(request, gateway.settings.max_body_bytes)

    if service not in gateway.settings.services:
        # Not a service: perhaps one of the gateway's own routes with another method.
        own = _own_methods(request)
        if own:
            return _method_not_allowed(MethodNotAllowed(request.method, request.url.path, own))
    try:
        answer = await gateway.proxy.forward(
            identity,
            ProxiedRequest(
                service=service,
                method=request.method,
                path=f"/v1/{path}",
                query=request.url.query,
                headers=request.headers,
                read_body=body,
                request_id=request_id,
            ),
        )
    except MethodNotAllowed as exc:
        return _method_not_allowed(exc)
    return Response(content=answer.body, status_code=answer.status, headers=answer.headers)


def _method_not_allowed(exc: MethodNotAllowed) -> JSONResponse:
    """RFC 9110 15.5.6: a 405 names the route's methods in ``Allow``."""
    allow = {"Allow": ", ".join(exc.allowed)}
    return problem(exc.status, exc.title, exc.detail, code=exc.code, headers=allow)


def _own_methods(request: Request) -> frozenset[str]:
    """The methods of the gateway's own routes (``/admin/v1/...``, from its own OpenAPI
    document) whose template matches this path: the router came here only because none of
    them has the request's method."""
    segments = request.url.path.split("/")
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            want == got or (want.startswith("{") and want.endswith("}") and got)
            for want, got in zip(parts, segments, strict=True)
        ):
            methods.update(m.upper() for m in item if m.upper() in OWN_ROUTE_METHODS)
    return frozenset(methods)

"""``/<service>/v1/<path>``: every method, forwarded to the service once the policy allows it."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from shared_kernel.web import problem

from gateway.api.deps import caller_of
from gateway.api.errors import BodyTooLarge
from gateway.app.proxy import ProxiedRequest
from gateway.bootstrap import Gateway
from gateway.domain.policy import MethodNotAllowed

router = APIRouter(tags=["proxy"])

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


@router.api_route("/{service}/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(service: str, path: str, request: Request) -> Response:
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

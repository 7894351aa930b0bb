"""``/<service>/v1/<path>``: every method, forwarded to the service once the policy allows it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.api.deps import CallerIdentity, GatewayDep, RequestId
from gateway.api.errors import BodyTooLarge
from gateway.app.proxy import ProxiedRequest

router = APIRouter(tags=["proxy"])

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


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
async def forward(
    service: str,
    path: str,
    request: Request,
    identity: CallerIdentity,
    gateway: GatewayDep,
    request_id: RequestId,
) -> Response:
    async def body() -> bytes:
        return await read_body(request, gateway.settings.max_body_bytes)

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
    return Response(content=answer.body, status_code=answer.status, headers=answer.headers)

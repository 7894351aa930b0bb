"""``/openapi.json`` (the combined API description) and ``/docs`` (Swagger UI showing it, its
assets served by the gateway itself: see ``shared_kernel.docs``).

Both are public, as API descriptions usually are: they say which routes exist and which roles
each needs, never anything about the data behind them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from shared_kernel.docs import install_docs
from shared_kernel.routes import include_routes

from gateway.api.deps import GatewayDep
from gateway.api.openapi_document import combined_openapi

router = APIRouter(include_in_schema=False)

TITLE = "Back office API"
DESCRIPTION = """\
The single entry point to the back office. Log in with `POST /auth/login` and send the access
token as `Authorization: Bearer <token>`; systems send their API key as `X-API-Key: <key>`
(or `Authorization: ApiKey <key>`). Each service's routes are under `/<service>/v1/...`;
`x-roles` on an operation lists the roles allowed to call it (deny by default). Errors are
RFC 9457 `application/problem+json`."""


@router.get("/openapi.json")
async def openapi(request: Request, gateway: GatewayDep) -> JSONResponse:
    await gateway.retry_missing_services()
    catalogue = gateway.catalogue
    cached: tuple[int, dict[str, Any]] | None = getattr(request.app.state, "combined_api", None)
    if cached is None or cached[0] != catalogue.version:
        own = request.app.openapi()
        info = {
            "title": TITLE,
            "version": str(own.get("info", {}).get("version", "1")),
            "description": DESCRIPTION,
        }
        document = combined_openapi(own, catalogue.documents, gateway.policy, info)
        cached = (catalogue.version, document)
        request.app.state.combined_api = cached
    return JSONResponse(cached[1])


def install(app: FastAPI) -> None:
    """``/openapi.json`` and ``/docs`` on the gateway's app."""
    include_routes(app, router)
    install_docs(
        app,
        title=TITLE,
        openapi_url="/openapi.json",
        parameters={"persistAuthorization": True, "displayOperationId": False},
    )

"""The ASGI application: ``uvicorn --factory gateway.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from shared_kernel.web import install_problem_handlers

from gateway.adapters.passwords import Passwords
from gateway.api import auth, proxy
from gateway.api.errors import install_gateway_problem_handlers
from gateway.api.request_id import RequestIdMiddleware
from gateway.bootstrap import bootstrap
from gateway.settings import GatewaySettings


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    passwords: Passwords | None = None,
) -> FastAPI:
    gateway = bootstrap(settings, upstream_transport=upstream_transport, passwords=passwords)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await gateway.runtime.start()
            async with gateway.upstream_client() as http:
                gateway.connect(http)
                yield
        finally:
            await gateway.runtime.stop()

    app = FastAPI(
        title="Back office gateway",
        summary="Log-in, access policy and the single entry point to the back-office services",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    install_problem_handlers(app)
    install_gateway_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(auth.router)
    app.include_router(proxy.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

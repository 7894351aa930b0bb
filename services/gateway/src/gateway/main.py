"""The ASGI application: ``uvicorn --factory gateway.main:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from shared_kernel.health import install_health
from shared_kernel.lag import install_runtime_metrics
from shared_kernel.logs import configure_logging
from shared_kernel.routes import include_routes
from shared_kernel.traced_requests import TracingMiddleware
from shared_kernel.web import install_problem_handlers

from gateway.adapters.passwords import Passwords
from gateway.api import admin, auth, cases, contracts, decisions, openapi, proxy
from gateway.api.audit import AuditMiddleware
from gateway.api.client_address import ClientAddressMiddleware
from gateway.api.errors import install_gateway_problem_handlers
from gateway.api.metrics import GatewayMetrics
from gateway.api.request_id import RequestIdMiddleware
from gateway.api.request_limits import RequestLimitsMiddleware
from gateway.app.callers import Callers
from gateway.bootstrap import SERVICE, Gateway, bootstrap
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    passwords: Passwords | None = None,
    callers: Callers | None = None,
) -> FastAPI:
    gateway = bootstrap(
        settings, upstream_transport=upstream_transport, passwords=passwords, callers=callers
    )
    configure_logging(SERVICE, gateway.settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with gateway.upstream_client() as http:
                gateway.connect(http)
                # Refuses to start when the policy misses a route of a service: first, before
                # the database and Kafka are touched (a wrong policy is named as such).
                await gateway.discover_services()
                await gateway.runtime.start()
                assert gateway.runtime.producer is not None
                gateway.audit.start(gateway.runtime.producer, gateway.runtime.supervisor)
                if gateway.bucket_table is not None:  # kept bounded by every gateway
                    forget = gateway.bucket_table.forget_full_forever
                    gateway.runtime.spawn("forget full rate-limit buckets", forget)
                await warn_about_unsegregated_identities(gateway)
                app.state.readiness = gateway.readiness(http)
                probing = asyncio.create_task(gateway.replica_probe(http).run())
                try:
                    yield
                finally:
                    probing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await probing
        finally:
            await gateway.audit.stop()  # flushes the audit queue while the producer still runs
            await gateway.runtime.stop()

    app = FastAPI(
        title="Back office gateway",
        summary="Log-in, access policy and the single entry point to the back-office services",
        lifespan=lifespan,
        # /openapi.json and /docs describe the whole back office: see api/openapi.py.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = gateway
    install_problem_handlers(app)
    install_gateway_problem_handlers(app)
    # The last added runs first: request ids, then the client's address, then the audit
    # middleware (which sees both), then the limits (whose refusals are audited).
    settings = gateway.settings
    app.add_middleware(
        RequestLimitsMiddleware,
        max_url_bytes=settings.max_url_bytes,
        body_timeout_seconds=settings.body_read_timeout_seconds,
    )
    app.add_middleware(
        AuditMiddleware, audit=gateway.audit, policy=gateway.policy, metrics=GatewayMetrics()
    )
    app.add_middleware(ClientAddressMiddleware, trusted=settings.trusted_proxies)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the whole request, and every log line made while handling it, in its span.
    app.add_middleware(
        TracingMiddleware, service=SERVICE, continue_incoming=settings.continue_client_traces
    )
    # First, the proxy for the configured services (``api/proxy.py``: their names are never
    # the first segment of the gateway's own routes).
    app.router.routes.append(proxy.ProxyRoute(settings.services))
    include_routes(app, auth.router)
    openapi.install(app)
    include_routes(app, contracts.router)  # /schemas, /asyncapi: public, like /openapi.json
    include_routes(app, admin.router)  # before the last proxy route, whose path matches too
    include_routes(app, cases.router)
    include_routes(app, decisions.router)  # before it too: /audit/v1/... would match it
    app.router.routes.append(proxy.ProxyRoute())  # any other first segment: 404 or 405
    install_health(app)  # open to anyone, like log-in: the routes decide nothing
    # Open like /health (no business data; lag sampled at most every few seconds): counted by
    # the audit middleware above, not by the kernel's.
    install_runtime_metrics(app, "gateway", lambda: gateway.runtime, middleware=False)

    return app


async def warn_about_unsegregated_identities(gateway: Gateway) -> None:
    """Say at start-up which stored identities break segregation of duties: they are refused
    (403) until an administrator revokes a role, and nobody else would notice."""
    found = await gateway.admin.identities_breaking_segregation()
    if found:
        log.warning(
            "segregation of duties: %d identities break the rule and are refused until an "
            "administrator revokes a role: %s",
            len(found),
            "; ".join(found),
        )

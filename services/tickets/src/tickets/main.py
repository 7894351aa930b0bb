"""The tickets service's ASGI application: ``uvicorn --factory tickets.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from shared_kernel.commands import utc_now
from shared_kernel.lag import install_runtime_metrics
from shared_kernel.logs import configure_logging
from shared_kernel.routes import include_routes
from shared_kernel.web import create_service_app

from tickets.api import alerts, queues, reports, tickets
from tickets.bootstrap import Tickets, TicketsSettings, bootstrap


def create_app(
    settings: TicketsSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    service: Tickets | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal service
        service = bootstrap(settings, clock=clock)
        app.state.tickets = service
        await service.runtime.start()
        app.state.readiness = service.runtime.readiness()
        if service.settings.create_default_queue:
            await service.ensure_default_queue()
            await service.ensure_risk_limits_queue()
        if service.settings.run_sla_scheduler:
            service.runtime.spawn("SLA scheduler", service.scheduler.run)
        try:
            yield
        finally:
            await service.runtime.stop()

    configure_logging("tickets", settings)
    app = create_service_app("Tickets", lifespan)
    install_runtime_metrics(app, "tickets", lambda: service.runtime if service else None)
    include_routes(app, *(module.router for module in (queues, tickets, alerts, reports)))

    return app

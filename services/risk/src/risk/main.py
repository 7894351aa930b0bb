"""The risk service's ASGI application: ``uvicorn --factory risk.main:create_app``."""

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

from risk.api import deals, exposures, kris, limits, reports_register, risks
from risk.bootstrap import Risk, RiskSettings, bootstrap

# Every router module of the service (each exposes ``router``); add yours here.
ROUTERS = (risks, reports_register, kris, limits, exposures, deals)


def create_app(
    settings: RiskSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        risk: Risk = bootstrap(settings, clock=clock)
        app.state.risk = risk
        await risk.runtime.start()
        app.state.readiness = risk.runtime.readiness()
        for task in risk.background:
            risk.runtime.spawn(task.name, task.run)
        try:
            yield
        finally:
            await risk.runtime.stop()

    configure_logging("risk", settings)
    app = create_service_app("Risk", lifespan)
    install_runtime_metrics(
        app, "risk", lambda: app.state.risk.runtime if hasattr(app.state, "risk") else None
    )
    include_routes(app, *(module.router for module in ROUTERS))

    return app

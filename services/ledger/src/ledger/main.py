"""The ledger's ASGI application: ``uvicorn --factory ledger.main:create_app``."""

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

from ledger.api import accounts, audit, booking_requests, journal, periods, reports
from ledger.api.errors import install_ledger_problem_handlers
from ledger.bootstrap import Ledger, LedgerSettings, bootstrap


def create_app(
    settings: LedgerSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    ledger: Ledger | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal ledger
        ledger = bootstrap(settings, clock=clock)
        app.state.ledger = ledger
        await ledger.runtime.start()
        app.state.readiness = ledger.runtime.readiness()
        if ledger.settings.run_expiry_sweeper:
            ledger.runtime.spawn("expiry sweeper", ledger.sweeper.run)
        try:
            yield
        finally:
            await ledger.runtime.stop()

    configure_logging("ledger", settings)
    app = create_service_app("Ledger", lifespan)
    install_runtime_metrics(app, "ledger", lambda: ledger.runtime if ledger else None)
    install_ledger_problem_handlers(app)
    modules = (accounts, journal, booking_requests, periods, reports, audit)
    include_routes(app, *(module.router for module in modules))
    include_routes(app, journal.batches, accounts.booking_accounts)

    return app

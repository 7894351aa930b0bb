"""The ledger's ASGI application: ``uvicorn --factory ledger.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared_kernel.web import install_problem_handlers

from ledger.api import accounts, journal
from ledger.bootstrap import Ledger, LedgerSettings, bootstrap


def create_app(settings: LedgerSettings | None = None) -> FastAPI:
    ledger: Ledger | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal ledger
        ledger = bootstrap(settings)
        app.state.ledger = ledger
        await ledger.runtime.start()
        try:
            yield
        finally:
            await ledger.runtime.stop()

    app = FastAPI(title="Ledger", version="1.0", lifespan=lifespan)
    install_problem_handlers(app)
    app.include_router(accounts.router)
    app.include_router(journal.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

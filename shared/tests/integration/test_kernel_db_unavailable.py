"""Against a real PostgreSQL: a request whose connection the server ends (as a fast shutdown
ends every one) and a request while the server cannot be reached are answered 503 with
Retry-After, and the pool serves the next request by itself (the fault campaign's PostgreSQL
row, issue 16, found these answered 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from shared_kernel.db import create_engine
from shared_kernel.testing import CreateDatabase
from shared_kernel.web import install_problem_handlers
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.make_run_stack import free_port

pytestmark = pytest.mark.integration


def app_on(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/terminated")
    async def terminated() -> None:
        """The server ends this very connection mid-request (SQLSTATE 57P01)."""
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))

    @app.get("/v1/answer")
    async def answer() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT 42"))).scalar_one())

    return app


@pytest.fixture
async def engine(create_database: CreateDatabase) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await create_database("unavailable"), pool_size=2)
    yield engine
    await engine.dispose()


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://service")


async def test_a_connection_the_server_ends_is_a_503_and_the_next_request_works(
    engine: AsyncEngine,
) -> None:
    async with client(app_on(engine)) as http:
        ended = await http.post("/v1/terminated")
        assert ended.status_code == 503, ended.text
        assert ended.json()["code"] == "DatabaseUnavailable"
        assert ended.headers["retry-after"] == "5"
        again = await http.get("/v1/answer")
        assert (again.status_code, again.json()) == (200, 42)


async def test_a_server_that_cannot_be_reached_is_a_503() -> None:
    nowhere = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        async with client(app_on(nowhere)) as http:
            refused = await http.get("/v1/answer")
        assert refused.status_code == 503, refused.text
        assert "cannot be reached" in refused.json()["detail"]
    finally:
        await nowhere.dispose()

"""A database that cannot serve (restarting, full, out of connections) is answered 503 with
Retry-After, never 500; any other failure stays a 500 (issue 16's fault campaign found the
500s: a PostgreSQL restart and a full disk answered every command with 500)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from shared_kernel.db_unavailable import database_unavailable
from shared_kernel.web import install_problem_handlers
from sqlalchemy import exc

pytestmark = pytest.mark.unit


def wrapped(driver_error: Exception) -> exc.DBAPIError:
    """As SQLAlchemy raises a driver's error: a DBAPIError whose ``orig`` is (here, whose
    cause chain leads to) the driver's."""
    adapted = Exception("adapted by the dialect")
    adapted.__cause__ = driver_error
    return exc.OperationalError("INSERT INTO events ...", {}, adapted)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (wrapped(asyncpg.exceptions.DiskFullError("no space left")), "disk is full"),
        (wrapped(asyncpg.exceptions.AdminShutdownError("terminating")), "shutting down"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "starting up"),
        (wrapped(asyncpg.exceptions.TooManyConnectionsError("too many")), "out of resources"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), "connection"),
        (ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"), "reached"),
        (OSError("Multiple exceptions: Connect call failed ('127.0.0.1', 5432)"), "reached"),
        (exc.TimeoutError("QueuePool limit reached"), "no database connection"),
        (exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), "lost"),
    ],
)
def test_a_database_that_cannot_serve_is_recognised(error: Exception, reason: str) -> None:
    said = database_unavailable(error)
    assert said is not None and reason in said, said


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        wrapped(asyncpg.exceptions.UndefinedColumnError("no such column")),
        OSError(2, "No such file or directory"),
        TimeoutError(),
    ],
)
def test_any_other_failure_is_not_taken_for_an_outage(error: Exception) -> None:
    assert database_unavailable(error) is None


def test_a_cycle_of_causes_ends_the_search() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert database_unavailable(first) is None


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    async def command() -> None:
        raise error

    return app


async def answer(app: FastAPI) -> httpx.Response:
    # Starlette re-raises a handled 500-class error after answering; the answer is what counts.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.post("/v1/things", json={})


async def test_a_full_disk_is_answered_503_with_retry_after() -> None:
    got = await answer(app_raising(wrapped(asyncpg.exceptions.DiskFullError("no space"))))
    assert got.status_code == 503, got.text
    assert got.headers["retry-after"] == "5"
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["code"] == "DatabaseUnavailable"
    assert "Idempotency-Key" in got.json()["detail"]


async def test_a_bug_is_still_a_500() -> None:
    got = await answer(app_raising(RuntimeError("a bug")))
    assert got.status_code == 500, got.text

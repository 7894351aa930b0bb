"""Readiness: every check listed with its outcome; 503 when any fails, hangs or raises;
nothing secret in the answer; liveness without I/O; lag counted per partition."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import TopicPartition
from fastapi import FastAPI
from shared_kernel.health import CheckOutcome, Probe, Readiness, install_health, redacted
from shared_kernel.health_checks import lag_outcome, upstream_probe

pytestmark = pytest.mark.unit


def passing(detail: str = "fine") -> Probe:
    async def probe() -> CheckOutcome:
        return True, detail

    return probe


async def failing_database() -> CheckOutcome:
    raise ConnectionRefusedError(
        "cannot connect to postgresql://ledger:s3cret@db.internal:5432/ledger"
    )


async def hanging() -> CheckOutcome:
    await asyncio.sleep(60)
    return True, "never"


async def behind() -> CheckOutcome:
    return False, "5 events behind"


def app_with(readiness: Readiness | None) -> FastAPI:
    app = FastAPI()
    install_health(app)
    if readiness is not None:
        app.state.readiness = readiness
    return app


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_all_checks_passing_is_ready_and_lists_each_check() -> None:
    readiness = Readiness()
    readiness.add("database", passing("answered in 1 ms"))
    readiness.add("kafka", passing("6 partitions"))

    answer = await get(app_with(readiness), "/health/ready")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": [
            {"name": "database", "ok": True, "detail": "answered in 1 ms"},
            {"name": "kafka", "ok": True, "detail": "6 partitions"},
        ],
    }


async def test_one_failing_check_makes_it_503_naming_that_check() -> None:
    readiness = Readiness()
    readiness.add("database", failing_database)
    readiness.add("kafka", passing())
    readiness.add("projection ledger_view", behind)

    answer = await get(app_with(readiness), "/health/ready")

    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    by_name = {c["name"]: c for c in body["checks"]}
    assert by_name["database"]["ok"] is False
    assert "ConnectionRefusedError" in by_name["database"]["detail"]
    assert by_name["kafka"]["ok"] is True
    assert by_name["projection ledger_view"] == {
        "name": "projection ledger_view",
        "ok": False,
        "detail": "5 events behind",
    }


async def test_the_answer_never_carries_a_password() -> None:
    readiness = Readiness()
    readiness.add("database", failing_database)

    answer = await get(app_with(readiness), "/health/ready")

    assert "s3cret" not in answer.text
    assert "postgresql://ledger:***@db.internal:5432/ledger" in answer.text


async def test_a_hanging_check_fails_by_its_deadline_and_the_others_still_answer() -> None:
    readiness = Readiness(timeout_seconds=0.05)
    readiness.add("kafka", hanging)
    readiness.add("database", passing())

    started = asyncio.get_running_loop().time()
    report = await readiness.report()

    assert asyncio.get_running_loop().time() - started < 1.0
    assert report.failing == ["kafka"]
    assert report.checks[0].detail == "no answer within 0.05 s"


async def test_before_the_lifespan_sets_readiness_the_process_is_not_ready() -> None:
    answer = await get(app_with(None), "/health/ready")

    assert answer.status_code == 503
    assert answer.json()["checks"] == [
        {"name": "startup", "ok": False, "detail": "the process is starting"}
    ]


async def test_liveness_and_the_old_health_route_answer_without_any_check() -> None:
    readiness = Readiness()
    readiness.add("database", failing_database)
    app = app_with(readiness)

    assert (await get(app, "/health/live")).json() == {"status": "live"}
    assert (await get(app, "/health")).json() == {"status": "ok"}
    assert "/health/ready" not in app.openapi()["paths"]


def test_redacted_keeps_user_and_host_and_bounds_the_length() -> None:
    assert redacted("kafka://u:p@h:1 and http://a:b@c/") == "kafka://u:***@h:1 and http://a:***@c/"
    assert len(redacted("x" * 1000)) == 300


def test_lag_is_end_minus_applied_summed_over_partitions_of_the_consumers_topics() -> None:
    ends = {
        TopicPartition("ledger.events", 0): 10,
        TopicPartition("ledger.events", 1): 4,
        TopicPartition("other.events", 0): 99,  # not read by this consumer
    }
    applied = {TopicPartition("ledger.events", 0): 7}  # partition 1: nothing applied yet

    ok, detail = lag_outcome(ends, applied, ["ledger.events"], max_lag=7)
    assert ok
    assert detail == (
        "7 events behind (ledger.events[1]: 4, ledger.events[0]: 3); within the 7 allowed"
    )

    ok, detail = lag_outcome(ends, applied, ["ledger.events"], max_lag=6)
    assert not ok
    assert "more than the 6 allowed" in detail


def test_a_consumer_at_the_end_of_its_topics_is_up_to_date() -> None:
    ends = {TopicPartition("t", 0): 5, TopicPartition("t", 1): 0}
    assert lag_outcome(ends, {TopicPartition("t", 0): 5}, ["t"], max_lag=0) == (
        True,
        "up to date",
    )


async def test_an_upstream_is_ready_when_its_readiness_answers_200() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ledger":
            return httpx.Response(200, json={"status": "ready", "checks": []})
        checks = [{"name": "database", "ok": False, "detail": "x"}, {"name": "kafka", "ok": True}]
        return httpx.Response(503, json={"status": "not ready", "checks": checks})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        ledger = upstream_probe(http, "http://ledger/health/ready", timeout=1)
        tickets = upstream_probe(http, "http://tickets/health/ready", timeout=1)
        optional = upstream_probe(http, "http://tickets/health/ready", timeout=1, optional=True)

        assert await ledger() == (True, "ready")
        assert await tickets() == (False, "answered 503: database failing")
        assert await optional() == (True, "optional, answered 503: database failing")


async def test_an_unreachable_upstream_is_named_as_such() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        probe = upstream_probe(http, "http://risk/health/ready", timeout=1)
        assert await probe() == (False, "not reachable (ConnectError)")

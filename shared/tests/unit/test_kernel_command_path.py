"""The kernel's one command path: a route declares roles and headers, the bus runs the
handler once per Idempotency-Key and again on a concurrency conflict, and a stale If-Match
is 412 Precondition Failed in every service."""

# No ``from __future__ import annotations``: FastAPI evaluates the routes' annotations, and
# those of the test app refer to its local ``command_call``.
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Any, cast

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from shared_kernel.command_api import CommandCall, CommandRoutes
from shared_kernel.commands import CommandBus, PreconditionFailed, check_version
from shared_kernel.envelope import Actor
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.group_commit import DuplicateRequest
from shared_kernel.identity import Caller
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import (
    CommandContext,
    CommandResult,
    Idempotency,
    UnitOfWork,
)
from shared_kernel.web import install_problem_handlers

pytestmark = pytest.mark.unit

CLERKS = frozenset({Role.ACCOUNTANT})


@dataclass(frozen=True)
class Rename:
    thing_id: str
    name: str
    expected_version: int | None


class RecordingBus(CommandBus):
    """Runs nothing: records the context and command each route hands over."""

    def __init__(self) -> None:
        super().__init__(make_uow=_no_uow)
        self.calls: list[tuple[CommandContext, Any]] = []

    async def execute(self, context: CommandContext, handler: Any, command: Any) -> CommandResult:
        self.calls.append((context, command))
        return CommandResult("thing-1", 4, 77)


def _no_uow(_: CommandContext) -> UnitOfWork:
    raise AssertionError("no unit of work in this test")


async def _caller(request: Request) -> Caller:
    roles = frozenset(filter(None, request.headers.get("x-test-roles", "").split(",")))
    return Caller("user:ann", roles, "back", request.headers.get("x-request-id", ""))


def _app(bus: RecordingBus) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    command_call = CommandRoutes(lambda _: bus, _caller)

    async def handler(command: Rename, uow: UnitOfWork) -> CommandResult:
        raise AssertionError("the recording bus runs no handler")

    @app.post("/v1/things", status_code=201)
    async def create(
        body: dict[str, str],
        cmd: Annotated[CommandCall, Depends(command_call(CLERKS, "creating a thing"))],
    ) -> Any:
        command = Rename("", body["name"], cmd.expected_version)
        return await cmd.written(handler, command, location="/v1/things/{id}")

    @app.put("/v1/things/{thing_id}/name")
    async def rename(
        thing_id: str,
        body: dict[str, str],
        cmd: Annotated[
            CommandCall,
            Depends(command_call(CLERKS, "renaming a thing", if_match=True, idempotent=False)),
        ],
    ) -> Any:
        return await cmd.written(handler, Rename(thing_id, body["name"], cmd.expected_version))

    return app


async def _post(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


def _headers(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]


def test_a_route_documents_exactly_the_headers_it_declares() -> None:
    paths = _app(RecordingBus()).openapi()["paths"]
    assert _headers(paths["/v1/things"]["post"]) == ["Idempotency-Key"]
    assert _headers(paths["/v1/things/{thing_id}/name"]["put"]) == ["If-Match"]


async def test_a_caller_without_the_role_is_refused_naming_the_action() -> None:
    bus = RecordingBus()
    answer = await _post(_app(bus), "POST", "/v1/things", json={"name": "x"})
    assert answer.status_code == 403
    assert (answer.json()["code"], answer.json()["detail"]) == (
        "RoleRequired",
        "creating a thing needs one of the roles accountant",
    )
    assert bus.calls == []


async def test_the_route_gets_context_key_version_and_answers_with_location() -> None:
    bus = RecordingBus()
    app = _app(bus)
    clerk = {"x-test-roles": "accountant", "x-request-id": "req-7"}
    keyed = {**clerk, "Idempotency-Key": "k-1"}
    first = await _post(app, "POST", "/v1/things", json={"name": "a"}, headers=keyed)
    await _post(app, "POST", "/v1/things", json={"name": "a"}, headers=keyed)  # same request
    await _post(app, "POST", "/v1/things", json={"name": "b"}, headers=keyed)  # another body
    renamed = await _post(
        app, "PUT", "/v1/things/t-9/name", json={"name": "c"}, headers={**clerk, "If-Match": '"3"'}
    )

    assert first.status_code == 201
    assert first.json() == {"id": "thing-1", "version": 4, "position": 77}
    assert first.headers["Location"] == "/v1/things/thing-1"
    contexts = [context for context, _ in bus.calls]
    assert {c.correlation_id for c in contexts} == {"req-7"}
    assert {c.actor for c in contexts} == {Actor("user:ann", "back")}
    fingerprints = [c.idempotency.request_hash if c.idempotency else None for c in contexts]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
    assert fingerprints[3] is None  # the rename route takes no Idempotency-Key
    assert renamed.status_code == 200 and "Location" not in renamed.headers
    assert bus.calls[3][1] == Rename("t-9", "c", 3)


def test_a_stale_if_match_is_412_precondition_failed() -> None:
    check_version(3, None, "thing t-9")  # no If-Match: no precondition
    check_version(3, 3, "thing t-9")
    with pytest.raises(PreconditionFailed) as refused:
        check_version(3, 2, "thing t-9")
    assert (refused.value.status, refused.value.code, refused.value.field) == (
        412,
        "VersionMismatch",
        "If-Match",
    )


class FakeUnitOfWork:
    """Just enough of a unit of work for the bus: the stored answer of an earlier request."""

    def __init__(self, stored: list[CommandResult]) -> None:
        self.stored = stored

    async def __aenter__(self) -> "FakeUnitOfWork":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def previous_result(self) -> CommandResult | None:
        return self.stored[0] if self.stored else None

    async def answered_before(self) -> CommandResult | None:
        return await self.previous_result()


def _bus(stored: list[CommandResult], attempts: int) -> CommandBus:
    return CommandBus(lambda _: cast(UnitOfWork, FakeUnitOfWork(stored)), attempts=attempts)


KEYED = CommandContext(Caller.system("test"), idempotency=Idempotency("k", "h"))


async def test_the_bus_reruns_a_handler_that_met_a_concurrent_change() -> None:
    runs: list[str] = []

    async def handler(command: str, uow: UnitOfWork) -> CommandResult:
        runs.append(command)
        if len(runs) < 3:
            raise ConcurrencyConflict("moved on")
        return CommandResult("a", 1, 10)

    assert await _bus([], 3).execute(KEYED, handler, "go") == CommandResult("a", 1, 10)
    assert runs == ["go", "go", "go"]
    runs.clear()
    with pytest.raises(ConcurrencyConflict):
        await _bus([], 2).execute(KEYED, handler, "go")
    assert runs == ["go", "go"]


async def test_the_bus_answers_a_repeated_key_with_the_first_answer() -> None:
    first = CommandResult("a", 1, 10, replayed=True)

    async def never(command: str, uow: UnitOfWork) -> CommandResult:
        raise AssertionError("a repeated key runs nothing")

    assert await _bus([first], 3).execute(KEYED, never, "go") == first

    stored: list[CommandResult] = []

    async def loses_the_race(command: str, uow: UnitOfWork) -> CommandResult:
        stored.append(first)  # the concurrent request with the same key committed first
        raise DuplicateRequest("k")

    assert await _bus(stored, 3).execute(KEYED, loses_the_race, "go") == first

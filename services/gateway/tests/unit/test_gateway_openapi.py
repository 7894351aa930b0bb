"""One API for users, and 405 from the services' own route tables, over HTTP in-process.

The service behind the gateway is a small FastAPI app whose OpenAPI document the gateway reads
at start-up (``discover_services``, as the lifespan does); its other requests are answered by
a fake that records what reached it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from gateway.adapters.passwords import Passwords
from gateway.app.callers import Callers
from gateway.bootstrap import Gateway
from gateway.main import create_app
from gateway.settings import GatewaySettings
from pydantic import BaseModel
from shared_kernel.identity import Caller, ensure_keypair

POLICY = """
[routes.ledger]
"GET /v1/things" = ["accountant", "auditor"]
"POST /v1/things" = ["accountant"]
"GET /v1/things/{thing_id}" = ["accountant", "auditor"]
"PUT /v1/things/{thing_id}" = ["accountant"]
"""


class LogInRequest(BaseModel):
    """Named like one of the gateway's own schemas, to prove the two do not clash."""

    thing: str


class Thing(BaseModel):
    thing_id: str
    kind: str


def service_document() -> dict[str, Any]:
    app = FastAPI(title="Ledger", version="1.0")

    @app.get("/v1/things", tags=["things"])
    async def list_things() -> list[Thing]:
        return []

    @app.post("/v1/things", tags=["things"], status_code=201)
    async def add_thing(body: LogInRequest) -> Thing:
        return Thing(thing_id="1", kind=body.thing)

    @app.get("/v1/things/{thing_id}", tags=["things"])
    async def get_thing(thing_id: str) -> Thing:
        return Thing(thing_id=thing_id, kind="x")

    @app.put("/v1/things/{thing_id}", tags=["things"])
    async def put_thing(thing_id: str, body: Thing) -> Thing:
        return body

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {}

    return app.openapi()


class TrustingCallers(Callers):
    """Takes a verified token's word for the caller (no database in unit tests)."""

    def __init__(self) -> None:
        pass

    async def confirm(self, identity: Caller) -> Caller:
        return identity


@dataclass
class FakeService:
    document: dict[str, Any]
    received: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json=self.document)
        self.received.append(request)
        return httpx.Response(200, json={})


@dataclass
class Harness:
    client: httpx.AsyncClient
    gateway: Gateway
    service: FakeService

    def bearer(self, *roles: str) -> dict[str, str]:
        token = self.gateway.issue_access_token(Caller("ada", frozenset(roles), "back", "r"))
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    private, public = ensure_keypair(tmp_path / "keys")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://ledger.test"},
        policy_file=policy_file,
        upstream_timeout_seconds=1,
    )
    service = FakeService(service_document())
    app = create_app(
        settings,
        upstream_transport=httpx.MockTransport(service.handle),
        passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)),
        callers=TrustingCallers(),
    )
    gateway: Gateway = app.state.gateway
    async with gateway.upstream_client() as http:
        gateway.connect(http)
        await gateway.discover_services()
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield Harness(client, gateway, service)
    await gateway.runtime.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/ledger/v1/things/42", "GET, PUT"),
        ("PATCH", "/ledger/v1/things", "GET, POST"),
        ("HEAD", "/ledger/v1/things", "GET, POST"),
    ],
)
async def test_a_method_the_route_does_not_have_is_405_with_allow(
    harness: Harness, method: str, path: str, allow: str
) -> None:
    # Even the roles the policy admits elsewhere: the route has no such method at all.
    response = await harness.client.request(method, path, headers=harness.bearer("accountant"))

    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    if method != "HEAD":
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "MethodNotAllowed"
    assert harness.service.received == []


async def test_a_method_one_of_the_gateways_own_routes_lacks_is_405_too(
    harness: Harness,
) -> None:
    own = {(m, p) for m, p, _ in operations(await combined(harness)) if p == "/admin/v1/operators"}
    response = await harness.client.put("/admin/v1/operators", headers=harness.bearer("admin"))

    assert response.status_code == 405
    assert response.headers["Allow"] == ", ".join(sorted(m for m, _ in own))
    assert response.json()["code"] == "MethodNotAllowed"


async def test_405_needs_a_valid_token_first(harness: Harness) -> None:
    response = await harness.client.delete("/ledger/v1/things/42")

    assert response.status_code == 401


async def test_a_path_no_route_matches_stays_denied_by_default(harness: Harness) -> None:
    response = await harness.client.get("/ledger/v1/other", headers=harness.bearer("accountant"))

    assert response.status_code == 403
    assert response.json()["code"] == "NoPolicyRule"


async def test_an_error_while_deciding_refuses_the_request(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug in the policy evaluation")

    monkeypatch.setattr(harness.gateway.policy, "authorize", broken)
    response = await harness.client.get("/ledger/v1/things", headers=harness.bearer("accountant"))

    assert response.status_code == 403
    assert response.json()["code"] == "DecisionFailed"
    assert harness.service.received == []


async def test_an_error_in_the_route_table_refuses_the_request(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise KeyError("corrupt table")

    monkeypatch.setattr(harness.gateway.catalogue, "allowed_methods", broken)
    response = await harness.client.get("/ledger/v1/things", headers=harness.bearer("accountant"))

    assert response.status_code == 403
    assert harness.service.received == []


async def combined(harness: Harness) -> dict[str, Any]:
    response = await harness.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                yield method.upper(), path, operation


async def test_the_combined_api_has_the_gateway_and_every_service_route(harness: Harness) -> None:
    document = await combined(harness)

    assert document["info"]["title"] == "Back office API"
    assert {(m, p) for m, p, _ in operations(document)} >= {
        ("POST", "/auth/login"),
        ("GET", "/ledger/v1/things"),
        ("POST", "/ledger/v1/things"),
        ("GET", "/ledger/v1/things/{thing_id}"),
        ("PUT", "/ledger/v1/things/{thing_id}"),
    }
    assert "/ledger/health" not in document["paths"]  # not forwarded by the gateway
    assert "/openapi.json" not in document["paths"] and "/health" not in document["paths"]


async def test_service_components_are_renamed_and_every_reference_resolves(
    harness: Harness,
) -> None:
    document = await combined(harness)
    schemas = document["components"]["schemas"]

    # The gateway's own LogInRequest and the service's are both there, apart.
    assert set(schemas["LogInRequest"]["properties"]) == {"username", "password"}
    assert set(schemas["ledger.LogInRequest"]["properties"]) == {"thing"}
    body = document["paths"]["/ledger/v1/things"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ledger.LogInRequest"
    }
    for ref in refs(document):
        kind, name = ref.removeprefix("#/components/").split("/")[:2]
        assert name in document["components"][kind], ref
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))


async def test_each_service_operation_says_how_to_authenticate_and_which_roles_may_call(
    harness: Harness,
) -> None:
    document = await combined(harness)
    schemes = document["components"]["securitySchemes"]

    operation = document["paths"]["/ledger/v1/things"]["post"]
    assert operation["x-roles"] == ["accountant"]
    assert "Roles allowed: accountant." in operation["description"]
    names = {name for requirement in operation["security"] for name in requirement}
    assert {
        (schemes[n]["type"], schemes[n].get("scheme", schemes[n].get("name"))) for n in names
    } == {
        ("http", "bearer"),
        ("apiKey", "X-API-Key"),
    }
    for status in ("401", "403", "405", "413", "503", "504"):
        assert "application/problem+json" in operation["responses"][status]["content"]
    reader = document["paths"]["/ledger/v1/things/{thing_id}"]["get"]
    assert reader["x-roles"] == ["accountant", "auditor"]
    assert "413" not in reader["responses"]  # no body, nothing too large


async def test_the_gateways_own_routes_say_which_roles_may_call(harness: Harness) -> None:
    document = await combined(harness)

    search = document["paths"]["/audit/v1/decisions"]["get"]
    assert search["x-roles"] == ["admin", "auditor"]
    assert {"401", "403", "422", "429"} <= set(search["responses"])
    assert document["paths"]["/admin/v1/operators"]["get"]["x-roles"] == ["admin"]
    assert "x-roles" not in document["paths"]["/cases/{correlation_id}"]["get"]  # anyone


async def test_the_documentation_page_shows_the_combined_api(harness: Harness) -> None:
    response = await harness.client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text

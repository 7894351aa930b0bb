"""The authorization matrix: every route of every service x every demo role, through the gateway.

The routes come from the running system, not from a list in this file: the gateway's combined
OpenAPI document (which it builds from each service's own ``/openapi.json``) names them, and
the policy file says which roles each admits. When a service adds a route (and, as the gateway
insists, a policy entry for it), the matrix grows by itself.

What is asserted, per route and role:
- a role the policy does not name gets 403 from the gateway (``RoleMissing``): nothing forwarded;
- a role it names gets the service's own answer: never 401, 403, 405, a 404 for the route
  itself or a 5xx (404 for the random id or 422 for the empty body is the service answering);
- the combined document marks exactly the policy's people-only routes (four-eyes decisions,
  refused to systems) with ``x-people-only`` (the demo logins are people, so they pass);
- without a token, 401.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway.adapters.policy_file import load_policy
from gateway.domain.policy import PathTemplate, Policy, RouteRule
from gateway.domain.roles import ROLES
from gateway.settings import POLICY_FILE

from .conftest import ROOT, System, free_port, login

pytestmark = pytest.mark.e2e

DEMO_ROLES = sorted(ROLES)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the gateway serves it: /<service>/v1/...
    operation: dict[str, Any]

    @property
    def service(self) -> str:
        return self.path.split("/")[1]

    def concrete_path(self) -> str:
        """The path with each parameter replaced by a fresh id (one that exists nowhere)."""
        return "/".join(
            uuid.uuid4().hex if part.startswith("{") else part for part in self.path.split("/")
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY_FILE)


@pytest.fixture(scope="module")
async def document(module_system: System) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        response = await gateway.get("/openapi.json")
    assert response.status_code == 200, response.text
    combined: dict[str, Any] = response.json()
    return combined


@pytest.fixture(scope="module")
def routes(document: dict[str, Any], policy: Policy) -> list[Route]:
    """Every service operation in the combined document: those under a service the policy
    governs (the gateway's own /auth and /admin routes are tested where they are built)."""
    services = {rule.service for rule in policy.rules}
    found = [
        Route(method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method.upper() in METHODS and path.split("/")[1] in services
    ]
    assert found, "the combined API has no service routes: the matrix would prove nothing"
    return found


@pytest.fixture(scope="module")
async def tokens(module_system: System) -> dict[str, dict[str, str]]:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        return {role: await login(gateway, role) for role in DEMO_ROLES}


def shape(route: Route) -> tuple[str, str, tuple[str | None, ...]]:
    """Service, method and template segments: parameter names do not matter."""
    template = PathTemplate.parse(route.path.removeprefix(f"/{route.service}"))
    return route.service, route.method, template.segments


def rule_for(route: Route, policy: Policy) -> RouteRule:
    rules = {(r.service, r.method, r.template.segments): r for r in policy.rules}
    rule = rules.get(shape(route))
    assert rule is not None, f"{route} is served but has no policy entry"
    return rule


def roles_for(route: Route, policy: Policy) -> frozenset[str]:
    return rule_for(route, policy).roles


async def call(gateway: httpx.AsyncClient, route: Route, headers: dict[str, str]) -> httpx.Response:
    body: dict[str, object] | None = {} if "requestBody" in route.operation else None
    return await gateway.request(route.method, route.concrete_path(), headers=headers, json=body)


def problem_code(response: httpx.Response) -> str | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return str(code) if code else None


def refused_wrongly(response: httpx.Response) -> str | None:
    """Why the answer to an allowed role is not the service answering, or None."""
    status = response.status_code
    if status in (401, 403, 405) or status >= 500:
        return f"{status} {response.text[:200]}"
    # The service's 404 for an unknown id names a code; a router's 404 for an unknown route
    # (or the gateway's for an unknown service) does not, or says so.
    if status == 404 and problem_code(response) in (None, "UnknownService"):
        return f"404 for the route itself: {response.text[:200]}"
    return None


async def test_every_route_admits_exactly_the_roles_its_policy_entry_names(
    module_system: System,
    routes: list[Route],
    policy: Policy,
    tokens: dict[str, dict[str, str]],
) -> None:
    failures: list[str] = []
    checked = 0
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        for route in routes:
            allowed = roles_for(route, policy)
            if sorted(allowed) != route.operation.get("x-roles"):
                failures.append(f"{route}: x-roles {route.operation.get('x-roles')} != policy")
            if route.operation.get("x-people-only", False) != rule_for(route, policy).people_only:
                failures.append(f"{route}: x-people-only differs from the policy's [people_only]")
            for role in DEMO_ROLES:
                response = await call(gateway, route, tokens[role])
                checked += 1
                if role in allowed:
                    why = refused_wrongly(response)
                    if why:
                        failures.append(f"{route} as {role} (allowed): {why}")
                elif response.status_code != 403 or problem_code(response) != "RoleMissing":
                    failures.append(
                        f"{route} as {role} (not allowed): {response.status_code} "
                        f"{response.text[:200]}"
                    )
    assert not failures, f"{len(failures)} of {checked} calls wrong:\n" + "\n".join(failures)
    assert checked == len(routes) * len(DEMO_ROLES)


async def test_every_route_refuses_a_caller_without_a_token(
    module_system: System, routes: list[Route]
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        answers = {str(route): await call(gateway, route, {}) for route in routes}

    wrong = {route: r.status_code for route, r in answers.items() if r.status_code != 401}
    assert not wrong
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in answers.values())


async def patient_request(
    gateway: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    """One identity's requests back to back can pass its rate limit (100/s after a burst of
    200): a 429 is waited out as its Retry-After says, as a well-behaved client does."""
    for _ in range(5):
        response = await gateway.request(method, path, headers=headers)
        if response.status_code != 429:
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    return response


async def test_every_method_a_route_lacks_is_405_with_the_methods_it_has(
    module_system: System, routes: list[Route], tokens: dict[str, dict[str, str]]
) -> None:
    offered: dict[str, set[str]] = {}
    for route in routes:
        offered.setdefault(route.path, set()).add(route.method)
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        for path, methods in offered.items():
            for method in sorted(set(METHODS) - methods):
                concrete = Route(method, path, {}).concrete_path()
                response = await patient_request(gateway, method, concrete, tokens["admin"])
                allow = response.headers.get("Allow")
                if response.status_code != 405 or allow != ", ".join(sorted(methods)):
                    failures.append(f"{method} {path}: {response.status_code}, Allow {allow}")
    assert not failures, "\n".join(failures)


async def test_the_policy_names_no_route_the_running_services_lack(
    module_system: System, routes: list[Route], policy: Policy
) -> None:
    served = {shape(route) for route in routes}
    running = {route.service for route in routes}
    stale = [
        rule.describe()
        for rule in policy.rules
        if rule.service in running
        and (rule.service, rule.method, rule.template.segments) not in served
    ]
    assert not stale, f"policy entries without a route: {stale}"


async def test_the_combined_api_has_every_route_of_each_service(
    module_system: System, routes: list[Route]
) -> None:
    async with httpx.AsyncClient(base_url=module_system.ledger_url, timeout=30) as ledger:
        own = (await ledger.get("/openapi.json")).json()
    expected = {
        (method.upper(), f"/ledger{path}")
        for path, item in own["paths"].items()
        if path.startswith("/v1/")
        for method in item
        if method.upper() in METHODS
    }

    assert expected
    assert expected == {(r.method, r.path) for r in routes if r.service == "ledger"}


async def test_the_gateway_refuses_to_start_when_the_policy_misses_a_route(
    module_system: System,
    routes: list[Route],
    policy: Policy,
    identity_keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """With the real ledger running and a policy file lacking one of its routes."""
    rules = {(r.service, r.method, r.template.segments): r for r in policy.rules}
    dropped = next(rules[shape(r)] for r in routes if r.service == "ledger" and "{" in r.path)
    lines = [
        line
        for line in POLICY_FILE.read_text().splitlines()
        if not line.startswith(f'"{dropped.method} {dropped.template.text}"')
    ]
    incomplete = tmp_path / "policy.toml"
    incomplete.write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "KAFKA_BOOTSTRAP_SERVERS": module_system.kafka_bootstrap,
        "TOPIC_NAMESPACE": module_system.topic_namespace,
        "IDENTITY_PUBLIC_KEY_FILE": str(identity_keys[1]),
        "IDENTITY_PRIVATE_KEY_FILE": str(identity_keys[0]),
        "GATEWAY_SERVICES": f'{{"ledger": "{module_system.ledger_url}"}}',
        "POLICY_FILE": str(incomplete),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app"]
    started = await asyncio.to_thread(
        subprocess.run,
        [*command, "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert started.returncode != 0
    assert (
        f"{dropped.method} /ledger{dropped.template.text} is a route of the ledger service "
        "but the policy file does not mention it"
    ) in started.stderr, started.stderr[-3000:]

"""What a caller may use (``permissions`` of ``GET /auth/me``): every route its roles open, by
the same rules that decide each request, as the paths a client calls."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gateway.adapters.policy_file import load_policy
from gateway.api.auth import own_routes
from gateway.domain.own_routes import OwnRoute, area_of
from gateway.domain.permissions import permissions
from gateway.domain.policy import Policy
from gateway.domain.roles import Role
from gateway.main import create_app
from gateway.settings import POLICY_FILE, GatewaySettings
from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import Caller, ensure_keypair

from .conftest import InMemoryCallers

pytestmark = pytest.mark.unit

POLICY = load_policy(POLICY_FILE)
SERVICES = ("ledger", "risk", "tickets")
OWN = [
    OwnRoute("GET", "/cases/{correlation_id}"),
    OwnRoute("GET", "/audit/v1/decisions"),
    OwnRoute("GET", "/admin/v1/operators"),
    OwnRoute("POST", "/admin/v1/operators"),
    OwnRoute("POST", "/auth/login"),
    OwnRoute("GET", "/auth/me"),
]


def of(*roles: str, person: bool = True, services: tuple[str, ...] = SERVICES) -> list[str]:
    return permissions(POLICY, services, OWN, frozenset(Role(r) for r in roles), person=person)


def test_a_trader_may_submit_a_booking_request_but_not_approve_one() -> None:
    trader = of("trader")

    assert "POST /ledger/v1/booking-requests" in trader
    assert "GET /ledger/v1/booking-requests/{request_id}" in trader
    assert "POST /ledger/v1/booking-requests/{request_id}/approval" not in trader
    assert "GET /ledger/v1/journal-entries" not in trader
    assert "GET /cases/{correlation_id}" in trader
    assert not [p for p in trader if p.split(" ")[1].startswith(("/admin/", "/audit/"))]


def test_an_accountant_may_approve_and_read_the_journal() -> None:
    accountant = of("accountant")

    assert "POST /ledger/v1/booking-requests/{request_id}/approval" in accountant
    assert "GET /ledger/v1/journal-entries" in accountant
    assert "GET /audit/v1/decisions" not in accountant


def test_an_administrator_has_the_administration_and_the_audit_search() -> None:
    admin = of("admin")

    assert {"GET /admin/v1/operators", "POST /admin/v1/operators"} <= set(admin)
    assert {"GET /audit/v1/decisions", "POST /tickets/v1/queues"} <= set(admin)
    assert "POST /ledger/v1/booking-requests" not in admin


def test_an_auditor_reads_and_searches_the_audit_trail_but_changes_nothing() -> None:
    auditor = of("auditor")

    assert "GET /audit/v1/decisions" in auditor
    assert "GET /admin/v1/operators" not in auditor
    assert {p.split(" ")[0] for p in auditor} == {"GET"}


def test_a_system_is_not_offered_the_four_eyes_decisions_its_roles_would_allow() -> None:
    person, system = of("accountant"), of("accountant", person=False)

    assert set(person) - set(system) == {
        "POST /ledger/v1/booking-requests/{request_id}/approval",
        "POST /ledger/v1/booking-requests/{request_id}/rejection",
    }


def test_only_the_services_the_gateway_fronts_are_listed() -> None:
    ledger_only = of("risk-officer", services=("ledger",))

    assert "GET /ledger/v1/accounts" in ledger_only
    assert not [p for p in ledger_only if "/risk/" in p]
    assert "POST /risk/v1/risks" in of("risk-officer")


def test_log_in_and_me_are_no_permission() -> None:
    assert not [p for p in of("admin") + of("trader") if "/auth/" in p]


def test_the_list_is_sorted_by_path_then_method_without_repeats() -> None:
    accountant = of("accountant")

    keys = [(p.split(" ")[1], p.split(" ")[0]) for p in accountant]
    assert keys == sorted(set(keys))


@pytest.mark.parametrize("role", sorted(Role))
@pytest.mark.parametrize("person", [True, False])
def test_a_permission_is_exactly_what_the_policy_authorizes(role: Role, person: bool) -> None:
    listed = set(permissions(POLICY, SERVICES, [], frozenset({role}), person=person))

    for rule in POLICY.rules:
        path = rule.template.text.replace("{", "").replace("}", "")  # a concrete path
        try:
            POLICY.authorize(rule.service, rule.method, path, frozenset({role}), person=person)
            authorized = True
        except PermissionDenied:
            authorized = False
        assert (rule.describe() in listed) is authorized, rule.describe()


def test_every_documented_route_of_the_gateway_is_governed_by_an_area(tmp_path: Path) -> None:
    routes = own_routes(create_app(settings(tmp_path)))

    paths = {route.path for route in routes}
    assert {"/cases/{correlation_id}", "/audit/v1/decisions", "/admin/v1/operators"} <= paths
    # Only log-in and the caller's own identity are open without an area's roles.
    assert {r.describe() for r in routes if area_of(r.path) is None} == {
        "POST /auth/login",
        "GET /auth/me",
    }


def settings(tmp_path: Path) -> GatewaySettings:
    private, public = ensure_keypair(tmp_path / "keys")
    return GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://ledger.test", "tickets": "http://tickets.test"},
    )


async def test_me_lists_what_the_caller_may_use(tmp_path: Path, callers: InMemoryCallers) -> None:
    callers.add_operator("tom", "trader")
    callers.add_operator("root", "admin")
    _, key = callers.add_system("booking-robot", "accountant")
    app = create_app(settings(tmp_path), callers=callers)
    gateway = app.state.gateway

    def bearer(username: str) -> dict[str, str]:
        token = gateway.issue_access_token(Caller(username, frozenset({"admin"}), "none"))
        return {"Authorization": f"Bearer {token}"}

    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
        tom = (await client.get("/auth/me", headers=bearer("tom"))).json()
        root = (await client.get("/auth/me", headers=bearer("root"))).json()
        robot = (await client.get("/auth/me", headers={"X-API-Key": key.text})).json()
    await gateway.runtime.engine.dispose()

    # The operator's current roles decide, not the token's (tom's token said admin).
    expected = permissions(
        POLICY, ("ledger", "tickets"), own_routes(app), frozenset({Role.TRADER}), person=True
    )
    assert tom["permissions"] == expected
    assert "POST /ledger/v1/booking-requests" in tom["permissions"]
    assert "GET /admin/v1/operators" not in tom["permissions"]
    assert {
        "GET /admin/v1/operators",
        "POST /admin/v1/operators/{username}/roles",
        "DELETE /admin/v1/systems/{system}/api-keys/{key_id}",
        "GET /audit/v1/decisions",
        "GET /cases/{correlation_id}",
        "POST /tickets/v1/queues",
    } <= set(root["permissions"])
    assert "POST /ledger/v1/journal-entries" in robot["permissions"]
    assert "POST /ledger/v1/booking-requests/{request_id}/approval" not in robot["permissions"]
    assert not [p for p in tom["permissions"] + root["permissions"] if "/risk/" in p]


def test_the_policy_object_is_the_one_source() -> None:
    # A policy with one route: the list follows it, nothing else is invented.
    policy = Policy.from_document({"routes": {"ledger": {"GET /v1/things": ["trader"]}}})

    assert permissions(policy, ["ledger"], [], frozenset({Role.TRADER}), person=True) == [
        "GET /ledger/v1/things"
    ]
    assert permissions(policy, ["ledger"], [], frozenset({Role.AUDITOR}), person=True) == []

"""The proxy's place in the route table: first for the configured services, and last for any
other first segment; no route of the gateway's own can be shadowed by the first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gateway.api.proxy import ProxyRoute
from gateway.main import create_app
from gateway.settings import RESERVED_NAMES, SERVICE_NAME, GatewaySettings
from shared_kernel.identity import ensure_keypair
from starlette.routing import Match, Route

pytestmark = pytest.mark.unit


def app_routes(tmp_path: Path) -> list[Any]:
    private, public = ensure_keypair(tmp_path / "keys")
    settings = GatewaySettings(
        environment="test",
        identity_private_key_file=private,
        identity_public_key_file=public,
        services={"ledger": "http://l.test", "risk": "http://r.test"},
    )
    return list(create_app(settings).router.routes)


def http(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def test_the_services_are_proxied_first_and_everything_else_last(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)

    first, last = (r for r in routes if isinstance(r, ProxyRoute))
    assert routes[0] is first and first.services == frozenset({"ledger", "risk"})
    assert last.services is None
    # (By position, not ``index``: Starlette's routes are equal when path and endpoint are.)
    at = {id(route): n for n, route in enumerate(routes)}
    own = [r for r in routes if r.path.startswith(("/admin/", "/audit/", "/auth/", "/cases/"))]
    assert at[id(last)] > max(at[id(r)] for r in own)
    match, scope = first.matches(http("GET", "/risk/v1/limits/L-1"))
    assert match is Match.FULL
    assert scope["path_params"] == {"service": "risk", "path": "limits/L-1"}
    assert scope["route"] is first  # the span and the metrics name the template


@pytest.mark.parametrize(
    "path", ["/admin/v1/operators", "/audit/v1/decisions", "/riskx/v1/a", "/risk", "/", ""]
)
def test_the_first_proxy_route_leaves_other_first_segments_alone(path: str) -> None:
    assert ProxyRoute({"ledger", "risk"}).matches(http("GET", path)) == (Match.NONE, {})


def test_a_method_the_proxy_does_not_carry_is_a_partial_match_for_its_405() -> None:
    match, _ = ProxyRoute({"ledger"}).matches(http("TRACE", "/ledger/v1/accounts"))

    assert match is Match.PARTIAL


def test_no_own_route_takes_a_path_a_service_could_have(tmp_path: Path) -> None:
    """Every path ``/<name>/v1/...`` of a name a service may have goes to the first proxy
    route, unseen by the gateway's own routes: so none of them may match such a path, unless
    its first segment is a reserved name (which no service may have)."""
    for route in app_routes(tmp_path):
        if isinstance(route, ProxyRoute) or not isinstance(route, Route):
            continue
        first, _, rest = route.path.strip("/").partition("/")
        could_be_a_service = first.startswith("{") or SERVICE_NAME.fullmatch(first)
        reaches_v1 = rest.startswith(("v1", "{")) or ":path}" in route.path
        assert not (could_be_a_service and reaches_v1) or first in RESERVED_NAMES, route.path

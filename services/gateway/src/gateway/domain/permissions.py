"""What a caller may use: every route its roles open, as the path a client calls.

The answer of ``GET /auth/me`` (``permissions``), from which a client such as the operator
console shows only what its user may use. It is derived from the same rules that decide each
request: the policy for the services' routes (a four-eyes decision left out for a system), the
areas of ``own_routes`` for the gateway's own. A permission is ``METHOD /path`` with the path
template a client fills in: ``GET /ledger/v1/journal-entries``,
``POST /ledger/v1/booking-requests/{request_id}/approval``, ``GET /cases/{correlation_id}``.

Only the routes of services the gateway fronts are listed (the policy may name others, which
the gateway would answer with 404). A permission is necessary, not sufficient: a service may
still refuse a request on its own rules (four-eyes, a front office's own records only).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from gateway.domain.own_routes import OwnRoute, area_of
from gateway.domain.policy import Policy
from gateway.domain.roles import Role


def permissions(
    policy: Policy,
    services: Collection[str],
    own_routes: Iterable[OwnRoute],
    roles: frozenset[Role],
    *,
    person: bool,
) -> list[str]:
    """The caller's permissions, ordered by path, then method."""
    allowed = [
        (f"/{rule.service}{rule.template.text}", rule.method)
        for rule in policy.rules_open_to(roles, person=person)
        if rule.service in services
    ]
    for route in own_routes:
        area = area_of(route.path)
        if area is not None and area.open_to(roles):
            allowed.append((route.path, route.method))
    return [f"{method} {path}" for path, method in sorted(set(allowed))]

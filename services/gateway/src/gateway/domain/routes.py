"""The routes a service offers, and whether the access policy decides about every one of them.

A service describes its routes in its OpenAPI document; the gateway reads the ``paths`` of that
document into a :class:`RouteTable` (template -> methods). The table answers two questions:

- which methods a request path has (for ``405 Method Not Allowed`` with an ``Allow`` header);
- which routes the policy does not mention (the gateway then refuses to start) and which
  policy entries name routes the service does not have (a warning).

Templates are compared segment by segment with parameter names ignored, so the policy's
``/v1/accounts/{id}`` is the service's ``/v1/accounts/{account_id}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.policy import API_PREFIX, PathTemplate, Policy, PolicyError, RouteRule

# The operations an OpenAPI path item may hold (OpenAPI 3.0 and 3.1).
OPENAPI_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Segments = tuple[str | None, ...]


@dataclass(frozen=True)
class Route:
    """One operation of a service: a method on a path template."""

    service: str
    method: str
    template: PathTemplate

    def describe(self) -> str:
        return f"{self.method} /{self.service}{self.template.text}"


@dataclass
class RouteTable:
    """The routes of one service. ``unreachable`` lists the paths of its document that the
    gateway does not forward (outside ``/v1/``), for a warning."""

    service: str
    routes: list[Route]
    unreachable: list[str] = field(default_factory=list)

    @classmethod
    def from_openapi(cls, service: str, document: Mapping[str, Any]) -> RouteTable:
        """Read the routes from an OpenAPI document. A ``/v1/`` path that cannot be written as
        a policy template is a PolicyError: the policy could never decide about it."""
        paths = document.get("paths")
        if not isinstance(paths, Mapping):
            raise PolicyError(f"the OpenAPI document of {service!r} has no 'paths' object")
        routes: list[Route] = []
        unreachable: list[str] = []
        for path, item in paths.items():
            if not isinstance(path, str) or not path.startswith(API_PREFIX):
                unreachable.append(str(path))
                continue
            if not isinstance(item, Mapping):
                raise PolicyError(f"{service} {path}: the path item is not an object")
            try:
                template = PathTemplate.parse(path)
            except PolicyError as exc:
                raise PolicyError(f"route /{service}{path} cannot be governed: {exc}") from None
            routes.extend(
                Route(service, method.upper(), template)
                for method in OPENAPI_METHODS
                if method in item
            )
        return cls(service, routes, unreachable)

    @classmethod
    def from_policy(cls, service: str, policy: Policy) -> RouteTable:
        """The routes as the policy names them: the fallback while a service's own document
        is not known (an optional service that was down when the gateway started)."""
        return cls(
            service, [Route(service, r.method, r.template) for r in policy.rules_of(service)]
        )

    def allowed_methods(self, segments: tuple[str, ...]) -> frozenset[str] | None:
        """The methods of every template that matches the path (as a router would try each),
        or None when no template matches it at all."""
        matching = [route.method for route in self.routes if route.template.matches(segments)]
        return frozenset(matching) if matching else None

    def keys(self) -> set[tuple[str, Segments]]:
        return {(route.method, route.template.segments) for route in self.routes}


@dataclass(frozen=True)
class Coverage:
    """How the policy and a service's routes fit together."""

    uncovered: list[Route]  # service routes the policy does not mention: start refused
    unused: list[RouteRule]  # policy entries for routes the service does not have: warned

    @property
    def complete(self) -> bool:
        return not self.uncovered


def check_coverage(policy: Policy, table: RouteTable) -> Coverage:
    """Compare the policy's entries for the table's service with the service's routes."""
    rules = policy.rules_of(table.service)
    mentioned = {(rule.method, rule.template.segments) for rule in rules}
    offered = table.keys()
    uncovered = [
        route for route in table.routes if (route.method, route.template.segments) not in mentioned
    ]
    unused = [rule for rule in rules if (rule.method, rule.template.segments) not in offered]
    return Coverage(uncovered=_sorted(uncovered), unused=unused)


def _sorted(routes: Iterable[Route]) -> list[Route]:
    return sorted(routes, key=lambda r: (r.template.text, r.method))

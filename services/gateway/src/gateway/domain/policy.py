"""Access policy as code: which roles may call which route of which service.

Deny by default: a request that matches no rule is refused, and so is a caller holding none of
the rule's roles. A rule names a service, an HTTP method and a path template in which
``{name}`` matches exactly one path segment. When several templates match a path, the most
specific one decides: at the first segment where they differ, a literal beats a parameter
(``/v1/accounts/summary`` before ``/v1/accounts/{account_id}``), as routers usually do.

The policy document is the parsed TOML file::

    [routes.ledger]
    "POST /v1/accounts" = ["accountant", "controller"]
    "POST /v1/booking-requests/{request_id}/approval" = ["accountant", "controller"]

    [people_only]
    ledger = ["POST /v1/booking-requests/{request_id}/approval"]

A route listed under ``[people_only]`` is refused to a system (an API key) whatever its roles:
four-eyes decisions are made by people. Every approval and rejection route (a path ending in
``/approval`` or ``/rejection``) must be listed, so that a new one cannot be forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared_kernel.errors import DomainError, PermissionDenied
from shared_kernel.four_eyes import FourEyesRefused

from gateway.domain.roles import ROLES, Role

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/v1/"
_PARAMETER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@-]+$")
# The last path segment of the routes that decide a four-eyes request: people only.
FOUR_EYES_DECISIONS = frozenset({"approval", "rejection"})


class PolicyError(ValueError):
    """The policy document is malformed; the gateway refuses to start with it."""


class InvalidPath(DomainError):
    """A request path the gateway will not forward (empty, ``.`` or ``..`` segments)."""

    status = 400
    title = "Invalid path"


class MethodNotAllowed(DomainError):
    """The path names a route of the service, but the route has no such method."""

    status = 405
    title = "Method not allowed"

    def __init__(self, method: str, path: str, allowed: frozenset[str]) -> None:
        self.allowed = tuple(sorted(allowed))
        super().__init__(
            f"{method} is not a method of {path}; it has {', '.join(self.allowed)}",
            code="MethodNotAllowed",
        )


def path_segments(path: str) -> tuple[str, ...]:
    """The segments of a request path. Refuses what could mean different things to the gateway
    and to the service behind it: empty segments and dot segments."""
    segments = tuple(path.split("/")[1:]) if path.startswith("/") else ()
    if not segments or any(s in ("", ".", "..") for s in segments):
        raise InvalidPath(
            f"path {path!r} has an empty, '.' or '..' segment", field="path", code="InvalidPath"
        )
    return segments


@dataclass(frozen=True)
class PathTemplate:
    """A path such as ``/v1/accounts/{account_id}``; ``None`` stands for a parameter."""

    text: str
    segments: tuple[str | None, ...]

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        if not text.startswith(API_PREFIX):
            raise PolicyError(f"path {text!r} must start with {API_PREFIX!r}")
        parts = text[1:].split("/")
        segments: list[str | None] = []
        for part in parts:
            if _PARAMETER.fullmatch(part):
                segments.append(None)
            elif _LITERAL.fullmatch(part) and part not in (".", ".."):
                segments.append(part)
            else:
                raise PolicyError(
                    f"path {text!r}: segment {part!r} is neither a literal nor {{name}}"
                )
        return cls(text, tuple(segments))

    def matches(self, segments: tuple[str, ...]) -> bool:
        return len(segments) == len(self.segments) and all(
            want is None or want == got for want, got in zip(self.segments, segments, strict=True)
        )

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Sorts literal-first: ``False`` (literal) before ``True`` (parameter)."""
        return tuple(s is None for s in self.segments)


@dataclass(frozen=True)
class RouteRule:
    service: str
    method: str
    template: PathTemplate
    roles: frozenset[Role]
    people_only: bool = False  # refused to systems (API keys) whatever their roles

    def describe(self) -> str:
        return f"{self.method} /{self.service}{self.template.text}"

    @property
    def key(self) -> tuple[str, str, tuple[str | None, ...]]:
        """Service, method and template shape: what makes two rules the same route."""
        return self.service, self.method, self.template.segments

    @property
    def decides_four_eyes(self) -> bool:
        return self.template.segments[-1] in FOUR_EYES_DECISIONS

    def open_to(self, roles: frozenset[Role], *, person: bool) -> bool:
        """Whether a caller with these roles (a person or not) may use the route: what
        ``Policy.authorize`` allows once this rule decides."""
        return bool(roles & self.roles) and (person or not self.people_only)


class Policy:
    def __init__(self, rules: Iterable[RouteRule]) -> None:
        self._rules: dict[tuple[str, str], list[RouteRule]] = {}
        seen: dict[tuple[str, str, tuple[str | None, ...]], RouteRule] = {}
        for rule in rules:
            key = rule.key
            if key in seen:
                raise PolicyError(f"{rule.describe()} duplicates {seen[key].describe()}")
            seen[key] = rule
            self._rules.setdefault((rule.service, rule.method), []).append(rule)
        for candidates in self._rules.values():
            candidates.sort(key=lambda r: r.template.specificity)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Policy:
        """Build from the parsed policy file; every mistake is a PolicyError naming the entry."""
        unexpected = set(document) - {"routes", "people_only"}
        if unexpected:
            raise PolicyError(
                f"unexpected top-level keys {sorted(unexpected)}; only [routes.*] and [people_only]"
            )
        services = document.get("routes", {})
        if not isinstance(services, Mapping):
            raise PolicyError("[routes] must be a table of services")
        rules = [
            _rule(service, entry, roles)
            for service, routes in services.items()
            for entry, roles in _table(f"routes.{service}", routes).items()
        ]
        return cls(_mark_people_only(rules, _table("people_only", document.get("people_only", {}))))

    @property
    def rules(self) -> list[RouteRule]:
        return [rule for rules in self._rules.values() for rule in rules]

    def rules_of(self, service: str) -> list[RouteRule]:
        return [rule for rule in self.rules if rule.service == service]

    def rules_open_to(self, roles: frozenset[Role], *, person: bool) -> list[RouteRule]:
        """Every route a caller with these roles (a person or not) may use."""
        return [rule for rule in self.rules if rule.open_to(roles, person=person)]

    def rule_for(self, service: str, method: str, path: str) -> RouteRule | None:
        """The rule that decides about this request, or None when no rule covers it."""
        segments = path_segments(path)
        for rule in self._rules.get((service, method.upper()), []):
            if rule.template.matches(segments):
                return rule
        return None

    def authorize(
        self, service: str, method: str, path: str, roles: frozenset[Role], *, person: bool
    ) -> RouteRule:
        """The deciding rule when the caller (a person or not) may make this request;
        PermissionDenied otherwise."""
        rule = self.rule_for(service, method, path)
        if rule is None:
            raise PermissionDenied(
                f"{method.upper()} /{service}{path} is not open to anyone through the gateway",
                code="NoPolicyRule",
            )
        if not roles & rule.roles:
            raise PermissionDenied(
                f"{rule.describe()} needs one of the roles {', '.join(sorted(rule.roles))}",
                code="RoleMissing",
            )
        if rule.people_only and not person:
            raise FourEyesRefused(
                f"{rule.describe()} decides a four-eyes request, which only a person may do;"
                " a system may submit, never decide",
                code="PersonRequired",
            )
        return rule


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"[{where}] must be a table")
    return value


def _mark_people_only(rules: list[RouteRule], listed: Mapping[str, Any]) -> list[RouteRule]:
    """The rules, those listed under ``[people_only]`` marked; every listed entry must name a
    rule, and every four-eyes decision route must be listed."""
    wanted: dict[tuple[str, str, tuple[str | None, ...]], str] = {}
    for service, entries in listed.items():
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise PolicyError(f"people_only.{service}: must be a list of 'METHOD /v1/path'")
        for entry in entries:
            method, _, path = entry.partition(" ")
            try:
                template = PathTemplate.parse(path.strip())
            except PolicyError as exc:
                raise PolicyError(f"people_only.{service} {entry!r}: {exc}") from None
            wanted[(service, method, template.segments)] = f"people_only.{service} {entry!r}"
    known = {rule.key for rule in rules}
    unknown = sorted(where for key, where in wanted.items() if key not in known)
    if unknown:
        raise PolicyError(f"{', '.join(unknown)}: names no route of [routes]")
    marked = [replace(rule, people_only=rule.key in wanted) for rule in rules]
    forgotten = sorted(r.describe() for r in marked if r.decides_four_eyes and not r.people_only)
    if forgotten:
        raise PolicyError(
            "four-eyes decisions are made by people: list these routes under [people_only]: "
            + ", ".join(forgotten)
        )
    return marked


def _rule(service: str, entry: str, roles: Any) -> RouteRule:
    where = f"routes.{service} {entry!r}"
    method, _, path = entry.partition(" ")
    if method not in METHODS:
        raise PolicyError(f"{where}: method must be one of {', '.join(sorted(METHODS))}")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise PolicyError(f"{where}: roles must be a non-empty list of role names")
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise PolicyError(f"{where}: unknown role(s) {', '.join(unknown)}")
    try:
        template = PathTemplate.parse(path.strip())
    except PolicyError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    return RouteRule(service, method, template, frozenset(Role(r) for r in roles))

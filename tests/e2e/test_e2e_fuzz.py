"""A fuzz pass through the gateway: nasty strings in every string parameter of every route.

Every operation of the gateway's combined OpenAPI document (its own and every service's) is
called as a user holding a role it admits, once per string parameter (path, query, and each
string field of a JSON body) and per nasty value: NUL bytes, other control characters, a
10,000-character string, and the operators of PostgreSQL's text search (``!``, ``&``, ``|``,
``<->``, ``:*``, runs of hyphens, unbalanced parentheses and quotes). Whatever the answer, it
is never a 5xx. Everything else of the request is a plausible value taken from the schema, so
that a nasty value gets as far as validation lets it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .conftest import System, login

pytestmark = pytest.mark.e2e

NASTY = [
    "\x00",
    "ACME\x00GmbH",
    "\x01\x07\x08\x1b[2J\x7f",
    "x" * 10_000,
    "!a & b | c <-> d:* !!",
    "-" * 50,
    "((((a) 'b \"c",
]
METHODS = ("get", "post", "put", "patch", "delete")
CONCURRENCY = 6
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    role: str
    where: str  # "path", "query" or "body"
    name: str  # the parameter, or the body field as a dotted path
    value: str
    path: str
    params: dict[str, str]
    body: Any

    def __str__(self) -> str:
        value = self.value[:20] + ("..." if len(self.value) > 20 else "")
        return f"{self.method} {self.template} as {self.role}: {self.where} {self.name}={value!r}"


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def plausible_string(schema: dict[str, Any]) -> str:
    """A value the schema accepts, as far as a few guesses reach."""
    formats = {"date": "2026-11-26", "date-time": "2026-11-26T10:00:00Z", "uuid": str(uuid.uuid4())}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    candidates = ["EUR", "1200", "trader", "2026-11", "abc", str(uuid.uuid4()), "2026-11-26"]
    pattern = schema.get("pattern")
    shortest = int(schema.get("minLength", 1))
    for candidate in candidates:
        if len(candidate) >= shortest and (pattern is None or re.search(pattern, candidate)):
            return candidate
    return "x" * shortest


def example(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> Any:
    """A plausible instance of the schema: its example or default, or one built from it."""
    schema = resolve(schema, document)
    if depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("example", "default"):
        if schema.get(key) is not None:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(s, document) for s in schema[key]]
            chosen = [s for s in options if s.get("type") != "null"] or options
            return example(chosen[0], document, depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged |= resolve(part, document)
        return example(merged, document, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example(sub, document, depth + 1)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        item = example(schema.get("items", {}), document, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return plausible_string(schema)


def string_fields(value: Any, loc: Location = ()) -> Iterator[Location]:
    """Where the body holds a string (each field that can carry a nasty value)."""
    if isinstance(value, str):
        yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_fields(item, (*loc, key))
    elif isinstance(value, list) and value:
        yield from string_fields(value[0], (*loc, 0))


def replaced(value: Any, loc: Location, nasty: str) -> Any:
    if not loc:
        return nasty
    head, rest = loc[0], loc[1:]
    if isinstance(value, dict):
        return {**value, str(head): replaced(value[str(head)], rest, nasty)}
    copy = list(value)
    copy[int(head)] = replaced(copy[int(head)], rest, nasty)
    return copy


def takes_a_string(schema: dict[str, Any], document: dict[str, Any]) -> bool:
    schema = resolve(schema, document)
    options = [resolve(s, document) for s in schema.get("anyOf", [schema])]
    return any(s.get("type", "string") == "string" and "enum" not in s for s in options)


def role_for(operation: dict[str, Any]) -> str:
    """A role the operation admits (a writer rather than the read-only auditor); the gateway's
    own operations (log-in, administration) are called as the admin."""
    roles = [r for r in operation.get("x-roles", ["admin"]) if r != "auditor"]
    return roles[0] if roles else "auditor"


def cases_of(
    template: str, method: str, operation: dict[str, Any], document: dict[str, Any]
) -> Iterator[Case]:
    role = role_for(operation)
    parameters = [resolve(p, document) for p in operation.get("parameters", [])]
    names = re.findall(r"{([^}]+)}", template)
    plain = {name: str(uuid.uuid4()) for name in names}
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    body = example(body_schema, document) if body_schema else None

    def url(path_values: dict[str, str]) -> str:
        return re.sub(r"{([^}]+)}", lambda m: quote(path_values[m.group(1)], safe=""), template)

    for nasty in NASTY:
        for name in names:
            yield Case(
                method, template, role, "path", name, nasty, url({**plain, name: nasty}), {}, body
            )
        for parameter in parameters:
            if parameter["in"] == "query" and takes_a_string(parameter.get("schema", {}), document):
                name = parameter["name"]
                yield Case(
                    method, template, role, "query", name, nasty, url(plain), {name: nasty}, body
                )
        for loc in string_fields(body):
            dotted = ".".join(str(part) for part in loc)
            yield Case(
                method,
                template,
                role,
                "body",
                dotted,
                nasty,
                url(plain),
                {},
                replaced(body, loc, nasty),
            )


async def server_error(gateway: httpx.AsyncClient, case: Case, auth: dict[str, str]) -> str | None:
    """The 5xx (or the broken connection) a case gets, if any; a 429 of the gateway's rate
    limit is waited out, so that every case is heard."""
    for _ in range(20):
        try:
            response = await gateway.request(
                case.method.upper(), case.path, params=case.params, json=case.body, headers=auth
            )
        except httpx.TransportError:
            # A pooled connection the gateway closed after an earlier answer: ask once more
            # on a connection of this case's own; breaking off again is this case's failure.
            try:
                async with httpx.AsyncClient(base_url=gateway.base_url, timeout=60) as fresh:
                    response = await fresh.request(
                        case.method.upper(),
                        case.path,
                        params=case.params,
                        json=case.body,
                        headers=auth,
                    )
            except httpx.TransportError as exc:
                return f"connection broke off: {exc!r}"
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:160]}"
    return None


async def test_no_nasty_string_in_any_parameter_makes_a_server_error(module_system: System) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=60) as gateway:
        document = (await gateway.get("/openapi.json")).json()
        cases = [
            case
            for template, item in document["paths"].items()
            for method, operation in item.items()
            if method in METHODS
            for case in cases_of(template, method, operation, document)
        ]
        tokens = {role: await login(gateway, role) for role in sorted({c.role for c in cases})}
        failures: list[str] = []
        gate = asyncio.Semaphore(CONCURRENCY)

        async def run(case: Case) -> None:
            async with gate:
                error = await server_error(gateway, case, tokens[case.role])
            if error is not None:
                failures.append(f"{case}: {error}")

        await asyncio.gather(*(run(case) for case in cases))

    assert len(cases) > 500, "the fuzz pass reached too few parameters to prove anything"
    assert not failures, f"{len(failures)} of {len(cases)} calls answered 5xx:\n" + "\n".join(
        sorted(failures)
    )

"""The one API description users see: the gateway's own routes plus every service's routes.

Each service's ``/v1/...`` paths appear under ``/<service>/v1/...`` as the gateway serves them.
The service's components are renamed ``<service>.<name>`` (and every ``$ref`` with them), its
operation ids and tags are prefixed the same way, so that two services may both have an
``AccountView``. Every service operation gets the gateway's security schemes (bearer token or
API key), the roles the policy allows in ``x-roles`` and in its description (and
``x-people-only: true`` where a system is refused whatever its roles), and the answers
the gateway itself may give (401, 403, 405, 413, 429, 502, 503, 504) as problem+json. The
gateway's own operations get ``x-roles`` too where their area is open to some roles only
(``/admin/v1``, ``/audit/v1``: see ``domain/own_routes.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from shared_kernel.openapi import PROBLEM, PROBLEM_JSON, PROBLEM_SCHEMA

from gateway.domain.own_routes import area_of
from gateway.domain.policy import API_PREFIX, PathTemplate, Policy, PolicyError
from gateway.domain.routes import OPENAPI_METHODS

COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
    "pathItems",
)
BEARER_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An operator's access token from POST /auth/login",
}
API_KEY_SCHEME: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "A system's API key; 'Authorization: ApiKey <key>' is accepted as well",
}
# What the gateway itself may answer instead of the service, by status.
GATEWAY_ANSWERS = {
    "401": "No valid access token or API key",
    "403": "None of the caller's roles may use this route",
    "405": "The route does not have this method (see the Allow header)",
    "413": "The request body is larger than the gateway accepts",
    "429": "Too many requests (see the Retry-After header)",
    "502": "The service broke off or did not answer with HTTP",
    "503": "The service cannot be reached",
    "504": "The service did not answer in time; retry with the same Idempotency-Key",
}


class DocumentClash(ValueError):
    """Two parts of the combined description want the same path."""


def combined_openapi(
    own: Mapping[str, Any],
    services: Mapping[str, Mapping[str, Any]],
    policy: Policy,
    info: Mapping[str, Any],
) -> dict[str, Any]:
    """The gateway's own document ``own`` (FastAPI's, with the auth and admin routes) plus
    each service's document, as one OpenAPI document."""
    document = copy.deepcopy(dict(own))
    document["info"] = dict(info)
    document.pop("servers", None)
    components = document.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    bearer = _scheme(schemes, _is_bearer, "bearerAuth", BEARER_SCHEME)
    api_key = _scheme(schemes, _is_api_key, "apiKeyAuth", API_KEY_SCHEME)
    components.setdefault("schemas", {}).setdefault(PROBLEM, PROBLEM_SCHEMA)
    security: list[dict[str, list[str]]] = [{bearer: []}, {api_key: []}]
    paths = document.setdefault("paths", {})
    for path, item in paths.items():
        area = area_of(path)
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                # The gateway's own routes are rate limited too.
                operation["responses"].setdefault("429", _problem(GATEWAY_ANSWERS["429"]))
                if area is not None and area.roles is not None:
                    # Their roles are the area's (domain/own_routes.py), said as for a service's.
                    operation["x-roles"] = sorted(area.roles)
    tags: list[dict[str, Any]] = list(document.get("tags", []))
    for service in sorted(services):
        part = _service_part(service, services[service], policy, security)
        clashes = sorted(set(part["paths"]) & set(paths))
        if clashes:
            raise DocumentClash(f"paths {clashes} of {service} clash with the gateway's own")
        paths.update(part["paths"])
        for kind, named in part["components"].items():
            components.setdefault(kind, {}).update(named)
        tags.extend(part["tags"])
    if tags:
        document["tags"] = tags
    return document


def _service_part(
    service: str,
    source: Mapping[str, Any],
    policy: Policy,
    security: list[dict[str, list[str]]],
) -> dict[str, Any]:
    """The service's paths, components and tags, renamed for the combined document."""
    renames = {
        f"#/components/{kind}/{name}": f"#/components/{kind}/{service}.{name}"
        for kind in COMPONENT_KINDS
        for name in source.get("components", {}).get(kind, {}) or {}
    }
    renamed: dict[str, Any] = _rewrite_refs(copy.deepcopy(dict(source)), renames)
    components = {
        kind: {f"{service}.{name}": value for name, value in named.items()}
        for kind, named in (renamed.get("components") or {}).items()
        # The service's own security schemes (the gateway's signed identity) are internal.
        if kind in COMPONENT_KINDS and isinstance(named, Mapping)
    }
    paths: dict[str, Any] = {}
    for path, item in (renamed.get("paths") or {}).items():
        if not (isinstance(path, str) and path.startswith(API_PREFIX)):
            continue  # not forwarded by the gateway
        try:
            template = PathTemplate.parse(path)
        except PolicyError:
            continue  # cannot be governed, so never forwarded (the catalogue reported it)
        item.pop("servers", None)
        for method in OPENAPI_METHODS:
            if isinstance(item.get(method), dict):
                _describe_operation(item[method], service, method.upper(), template, policy)
                item[method]["security"] = security
        paths[f"/{service}{path}"] = item
    tags = [
        {**tag, "name": f"{service}: {tag['name']}"}
        for tag in renamed.get("tags", [])
        if isinstance(tag, dict) and "name" in tag
    ]
    return {"paths": paths, "components": components, "tags": tags}


def _describe_operation(
    operation: dict[str, Any], service: str, method: str, template: PathTemplate, policy: Policy
) -> None:
    rule = next(
        (
            r
            for r in policy.rules_of(service)
            if r.method == method and r.template.segments == template.segments
        ),
        None,
    )
    roles = sorted(rule.roles) if rule is not None else []
    operation["x-roles"] = roles
    who = (
        f"Roles allowed: {', '.join(roles)}." if roles else "No policy entry: refused to everyone."
    )
    people = None
    if rule is not None and rule.people_only:
        operation["x-people-only"] = True
        people = "People only: a four-eyes decision, refused to systems (API keys)."
    operation["description"] = "\n\n".join(
        filter(None, [operation.get("description"), who, people])
    )
    if "operationId" in operation:
        operation["operationId"] = f"{service}.{operation['operationId']}"
    operation["tags"] = [f"{service}: {tag}" for tag in operation.get("tags", [])] or [service]
    responses = operation.setdefault("responses", {})
    for status, description in GATEWAY_ANSWERS.items():
        if status == "413" and "requestBody" not in operation:
            continue
        responses.setdefault(status, _problem(description))


def _problem(description: str) -> dict[str, Any]:
    """A response documented as a problem."""
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """Rename every ``$ref`` (and discriminator mapping) that points into the components."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                node[key] = _renamed(value, renames)
            elif key == "mapping" and isinstance(value, dict):
                node[key] = {
                    k: _renamed(v, renames) if isinstance(v, str) else v for k, v in value.items()
                }
            else:
                _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
    return node


def _renamed(ref: str, renames: Mapping[str, str]) -> str:
    """``#/components/schemas/A/properties/x`` renames with its component ``A``."""
    parts = ref.split("/")
    base = "/".join(parts[:4])
    return renames[base] + ref[len(base) :] if base in renames else ref


def _scheme(
    schemes: dict[str, Any],
    fits: Callable[[Mapping[str, Any]], bool],
    name: str,
    default: dict[str, Any],
) -> str:
    """The name of the gateway's own security scheme that fits, added when there is none."""
    for existing, scheme in schemes.items():
        if isinstance(scheme, Mapping) and fits(scheme):
            return str(existing)
    schemes[name] = default
    return name


def _is_bearer(scheme: Mapping[str, Any]) -> bool:
    return scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer"


def _is_api_key(scheme: Mapping[str, Any]) -> bool:
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and str(scheme.get("name", "")).lower() == "x-api-key"
    )

"""The errors in every service's OpenAPI document: RFC 9457 problems, as the handlers answer.

FastAPI documents a 422 ``HTTPValidationError`` that no route ever sends (the kernel's
handler answers ``application/problem+json``) and no other error at all. ``document_problems``
rewrites the document once, when it is first built: every operation's 422 becomes a problem,
and the other problems a route may answer are added (400 for a malformed request; 401 and 403
for every route, which all need an identity; 404; 409 for writes; 412 where ``If-Match`` is
read; 500).

Free-text strings document what the kernel's input check refuses (``web.REFUSED_CHARACTER``):
no control character but tab, line feed and carriage return. Without it the schema would call
a string valid that every service refuses.

It also documents the one status convention of all services: a POST that creates a record
answers 201 with ``Location`` (where the new record is read: its own URL, or the record that
holds it when it has none), a POST that changes an existing record answers 200.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM = "Problem"
PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "A stable, machine-readable error code"},
        "field": {"type": "string", "description": "The field the error is about"},
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Every error found, each with the field it is about",
        },
    },
    "required": ["type", "title", "status", "detail"],
}
# The problems a service may answer, by status, and which operations may get them.
_ANSWERS = {
    "400": "The request is malformed: a body that is not JSON, or a NUL in the URL",
    "401": "No valid identity",
    "403": "The caller may not do this (roles, four-eyes, segregation of duties)",
    "404": "The addressed record does not exist",
    "409": "The command conflicts with the current state (a duplicate, a concurrent change)",
    "412": "If-Match names a version that is not the current one",
    "422": "The request is invalid or a business rule refused it; `field` names the input",
    "500": "The server failed; the request was not applied",
}
_WRITES = {"post", "put", "patch", "delete"}
LOCATION_HEADER: dict[str, Any] = {
    "description": "Where the new record is read (its own URL, or the record holding it)",
    "schema": {"type": "string"},
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
# The characters a string may hold: every one but the C0 controls other than tab, LF and CR.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
# A string with any of these is already narrower than free text.
_NARROWED = ("pattern", "enum", "const", "format")
_NESTED = ("items", "additionalProperties", "not")
_COMBINED = ("anyOf", "oneOf", "allOf", "prefixItems")


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every error as the problem+json it is."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with_problems(build())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``document`` in place (and return it): problem responses everywhere."""
    reference = {"$ref": f"#/components/schemas/{PROBLEM}"}
    for item in (document.get("paths") or {}).values():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                responses = operation["responses"]
                if isinstance(responses.get("201"), dict):
                    responses["201"].setdefault("headers", {})["Location"] = LOCATION_HEADER
                errors = {s for s in responses if str(s)[:1] in ("4", "5")}
                for status in sorted(errors | set(_statuses(method, operation))):
                    described = responses.get(status, {}).get("description")
                    responses[status] = {
                        "description": described
                        if described and described != "Validation Error"
                        else _ANSWERS.get(status, "An error"),
                        "content": {PROBLEM_JSON: {"schema": dict(reference)}},
                    }
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    if isinstance(parameter, dict):
                        _forbid_control_characters(parameter.get("schema"))
                body = operation.get("requestBody")
                for medium in ((body or {}).get("content") or {}).values():
                    _forbid_control_characters(medium.get("schema"))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    for schema in schemas.values():
        _forbid_control_characters(schema)
    schemas[PROBLEM] = PROBLEM_SCHEMA
    return document


def _forbid_control_characters(schema: Any) -> None:
    """Give every free-text string in ``schema`` (in place, nested ones too) the pattern of
    the characters the services accept."""
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not any(key in schema for key in _NARROWED):
        schema["pattern"] = TEXT_PATTERN
    for key in _NESTED:
        _forbid_control_characters(schema.get(key))
    for key in _COMBINED:
        for part in schema.get(key) or []:
            _forbid_control_characters(part)
    for part in (schema.get("properties") or {}).values():
        _forbid_control_characters(part)


def _statuses(method: str, operation: dict[str, Any]) -> list[str]:
    # 400 everywhere: any URL may carry a NUL the gateway refuses before routing.
    statuses = ["400", "401", "403", "404", "422", "500"]
    if method in _WRITES:
        statuses.append("409")
    if any(
        isinstance(p, dict) and p.get("in") == "header" and p.get("name", "").lower() == "if-match"
        for p in operation.get("parameters", [])
    ):
        statuses.append("412")
    return sorted(statuses)

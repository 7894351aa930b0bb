"""FastAPI glue shared by every service: problem+json errors, the verified identity,
command contexts with idempotency, and read-your-writes waits."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any
from uuid import uuid4

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared_kernel.envelope import Actor
from shared_kernel.errors import DomainError
from shared_kernel.identity import IDENTITY_HEADER, Identity, IdentityVerifier, InvalidIdentity
from shared_kernel.unit_of_work import CommandContext, Idempotency

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{1,200}$")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:backoffice:problem:{code or status}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class Unauthenticated(Exception):
    """401. ``headers`` go on the answer, e.g. a ``WWW-Authenticate`` challenge."""

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves as RFC 9457 problem+json; a client's mistake is never a 500."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, code=exc.code, field=exc.field)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(_: Request, exc: Unauthenticated) -> JSONResponse:
        return problem(
            401, "Unauthenticated", exc.detail, code="Unauthenticated", headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem(
            422,
            "Invalid request",
            f"{first['field']}: {first['message']}" if first["field"] else str(first["message"]),
            code="InvalidRequest",
            field=first["field"] or None,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            str(exc.detail),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "the server failed; the request was not applied")


def identity_dependency(get_verifier: Callable[[Request], IdentityVerifier]) -> Any:
    """A FastAPI dependency that yields the gateway-verified Identity or answers 401."""

    async def verified_identity(
        request: Request,
        token: Annotated[str | None, Header(alias=IDENTITY_HEADER, include_in_schema=False)] = None,
    ) -> Identity:
        try:
            return get_verifier(request).verify(token)
        except InvalidIdentity as exc:
            raise Unauthenticated(str(exc)) from exc

    return verified_identity


def command_context(
    identity: Identity, request: Request, body: Any, idempotency_key: str | None
) -> CommandContext:
    """Who acts, the correlation id (the gateway's request id) and the idempotency fingerprint."""
    idempotency = None
    if idempotency_key is not None:
        if not IDEMPOTENCY_KEY.match(idempotency_key):
            raise DomainError(
                "Idempotency-Key must be 1 to 200 letters, digits or - _ : .",
                field="Idempotency-Key",
                code="InvalidIdempotencyKey",
            )
        canonical = json.dumps(
            {"method": request.method, "path": request.url.path, "body": _plain(body)},
            sort_keys=True,
            default=str,
        )
        idempotency = Idempotency(idempotency_key, hashlib.sha256(canonical.encode()).hexdigest())
    request_id = identity.request_id or request.headers.get("X-Request-Id", "")
    return CommandContext(
        actor=Actor(subject=identity.subject, office=identity.office),
        correlation_id=request_id or str(uuid4()),
        roles=identity.roles,
        idempotency=idempotency,
    )


def _plain(body: Any) -> Any:
    dump = getattr(body, "model_dump", None)
    return dump(mode="json") if callable(dump) else body


IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


class Consistency:
    """Query parameters of a read that wants to see a given write: ``min_position`` and how
    long to wait for it (bounded)."""

    def __init__(
        self,
        min_position: Annotated[
            int | None,
            Query(
                ge=0,
                le=2**63 - 1,
                description="Wait until the read model has applied this event position",
            ),
        ] = None,
        wait_ms: Annotated[
            int, Query(ge=0, le=10000, description="How long to wait, at most")
        ] = 5000,
    ) -> None:
        self.min_position = min_position
        self.wait_seconds = wait_ms / 1000

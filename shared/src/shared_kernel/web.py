"""FastAPI glue shared by every service: problem+json errors, the verified identity,
command contexts with idempotency, ``If-Match`` versions, and read-your-writes waits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Protocol
from uuid import uuid4

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Lifespan

from shared_kernel.db_unavailable import RETRY_AFTER_SECONDS, database_unavailable
from shared_kernel.docs import install_docs
from shared_kernel.errors import DomainError
from shared_kernel.health import install_health
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentityVerifier, InvalidIdentity
from shared_kernel.logs import RequestContextMiddleware, bind_actor
from shared_kernel.metrics import note_office, note_refusal
from shared_kernel.openapi import PROBLEM_JSON as PROBLEM_JSON  # re-exported: services use it
from shared_kernel.openapi import document_problems
from shared_kernel.traced_requests import TracingMiddleware
from shared_kernel.unit_of_work import CommandContext, Idempotency

log = logging.getLogger(__name__)

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
    """Every error leaves as RFC 9457 problem+json, and the OpenAPI document says so; a
    client's mistake is never a 500."""
    document_problems(app)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        note_refusal(request, exc)
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
        if reason := database_unavailable(exc):
            # Not a bug: the database is restarting, failing over or full. Repeating the
            # request later (a command with its Idempotency-Key) is safe and may succeed.
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return problem(
                503,
                "Service unavailable",
                f"{reason}; the request may not have been applied: repeat it later (a command "
                "with the same Idempotency-Key)",
                code="DatabaseUnavailable",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
            )
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Starlette re-raises the error after this answer, and uvicorn then closes the
        # connection. Saying so keeps a client (the gateway's connection pool) from sending
        # its next request, perhaps another user's, on a connection about to be closed.
        return problem(
            500,
            "Internal error",
            "the server failed; the request was not applied",
            headers={"Connection": "close"},
        )


# NUL, which PostgreSQL refuses in text, and the other C0 control characters that no text of
# the back office needs (tab, line feed and carriage return pass: free text may hold them);
# and lone surrogates, which a JSON escape can carry but no database encoding can store.
REFUSED_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


async def refuse_control_characters(request: Request) -> None:
    """A dependency of every service route: refuse control characters in path and query
    parameters and in the strings (keys and values) of a JSON body, with a 422 naming each
    field, before any of it reaches a query or an event."""
    errors = [
        _refused(("path", name), value)
        for name, value in request.path_params.items()
        if isinstance(value, str) and REFUSED_CHARACTER.search(value)
    ]
    errors += [
        _refused(("query", _escaped(name)), name + value)
        for name, value in request.query_params.multi_items()
        if REFUSED_CHARACTER.search(name) or REFUSED_CHARACTER.search(value)
    ]
    if "json" in request.headers.get("content-type", ""):
        body = await request.body()
        # JSON carries a control character or surrogate only as a backslash escape.
        if b"\\" in body:
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                document = None  # the route's own parsing answers malformed JSON
            errors += [_refused(("body", *loc), text) for loc, text in _refused_strings(document)]
    if errors:
        raise RequestValidationError(errors)


def _refused(loc: tuple[str | int, ...], value: str) -> dict[str, Any]:
    found = REFUSED_CHARACTER.search(value)
    code = f"U+{ord(found.group()):04X}" if found else "a control character"
    return {
        "loc": loc,
        "msg": f"must not contain control characters or lone surrogates (found {code})",
        "type": "control_character",
    }


def _escaped(name: str) -> str:
    """A name fit to be echoed as a field: refused characters spelled as escapes."""
    return REFUSED_CHARACTER.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _refused_strings(document: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Where in a parsed JSON document a string (or an object key) holds a refused
    character; without recursion, however deep the document nests."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while pending:  # depth first, in document order (children pushed last to first)
        loc, value = pending.pop()
        if isinstance(value, str):
            if REFUSED_CHARACTER.search(value):
                found.append((loc, value))
        elif isinstance(value, dict):
            for key in value:
                if REFUSED_CHARACTER.search(key):
                    found.append(((*loc, _escaped(key)), key))
            pending.extend(((*loc, _escaped(k)), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    return found


def create_service_app(
    title: str, lifespan: Lifespan[FastAPI], *, service: str | None = None
) -> FastAPI:
    """A service's FastAPI app with the kernel's rules on every route: errors as
    problem+json, no control character in any parameter or JSON string, ``/docs`` with
    Swagger UI's assets served locally (FastAPI's own page loads them from a CDN), the health
    routes (``health``: the lifespan sets ``app.state.readiness``), the forwarded request id in
    every log line (``logs``), and a server span per request when traces are on (``service``:
    its name, default the title's; outermost, so that log lines carry its trace id)."""
    app = FastAPI(
        title=title,
        version="1.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_control_characters)],
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app, title=title)
    install_problem_handlers(app)
    install_health(app)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(TracingMiddleware, service=service or title.lower())
    return app


def identity_dependency(get_verifier: Callable[[Request], IdentityVerifier]) -> Any:
    """A FastAPI dependency that yields the gateway-verified Caller or answers 401."""

    async def verified_identity(
        request: Request,
        token: Annotated[str | None, Header(alias=IDENTITY_HEADER, include_in_schema=False)] = None,
    ) -> Caller:
        try:
            caller = get_verifier(request).verify(token)
        except InvalidIdentity as exc:
            raise Unauthenticated(str(exc)) from exc
        bind_actor(caller.subject, caller.office, caller.request_id)
        note_office(request, caller.office.value)
        return caller

    return verified_identity


def command_context(
    caller: Caller, request: Request, body: Any, idempotency_key: str | None
) -> CommandContext:
    """Who acts, the correlation id (the gateway's request id) and the idempotency fingerprint."""
    idempotency = None
    if idempotency_key is not None:
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
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
    request_id = caller.request_id or request.headers.get("X-Request-Id", "")
    return CommandContext(
        caller, correlation_id=request_id or str(uuid4()), idempotency=idempotency
    )


def _plain(body: Any) -> Any:
    dump = getattr(body, "model_dump", None)
    return dump(mode="json") if callable(dump) else body


IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


class Consistency:
    """What a read that wants to see a given write asked for: ``min_position`` and how long
    to wait for it (bounded); given by the ``consistency`` dependency."""

    def __init__(self, min_position: int | None, wait_ms: int) -> None:
        self.min_position = min_position
        self.wait_seconds = wait_ms / 1000


async def consistency(
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**63 - 1,
            description="Wait until the read model has applied this event position",
        ),
    ] = None,
    wait_ms: Annotated[int, Query(ge=0, le=10000, description="How long to wait, at most")] = 5000,
) -> Consistency:
    """The query parameters of a read-your-writes wait. Async, as every dependency of a hot
    route: FastAPI runs a plain function (or a class) in a worker thread, a thread hop on
    every request."""
    return Consistency(min_position, wait_ms)


class Waiter(Protocol):
    async def wait_for(self, position: int, timeout: float) -> bool: ...


def read_your_writes(
    waiters_of: Callable[[Request], tuple[Sequence[Waiter], float]],
) -> Any:
    """A route dependency: when the client names ``min_position``, wait (at most ``wait_ms``,
    and never longer than the service's maximum) until every read model the service answers
    from has applied it, and say in ``X-Consistent`` whether they did. ``waiters_of`` gives the
    request's waiters and the maximum wait in seconds."""

    async def wait(
        request: Request, response: Response, asked: Annotated[Consistency, Depends(consistency)]
    ) -> None:
        if asked.min_position is None:
            return
        waiters, longest = waiters_of(request)
        seconds = min(asked.wait_seconds, longest)
        position = asked.min_position
        reached = await asyncio.gather(*(w.wait_for(position, seconds) for w in waiters))
        response.headers["X-Consistent"] = "true" if all(reached) else "false"

    return Depends(wait)


async def expected_version(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    """The version named by ``If-Match`` (``3`` or ``"3"``), if the client sent one (async:
    no worker thread per request)."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise DomainError(
            "If-Match must name the version the decision was based on, e.g. If-Match: 2",
            field="If-Match",
            code="InvalidIfMatch",
        )
    return int(value)


# A write's optimistic-concurrency check: the version the client's decision was based on.
IfMatch = Annotated[int | None, Depends(expected_version)]

"""Exposing a command over HTTP: one FastAPI dependency per route gives the caller context,
the Idempotency-Key, the ``If-Match`` version and a ``run`` that executes a handler through
the service's ``CommandBus``. A route then only maps its body to a command::

    @router.post("", status_code=201, response_model=Written)
    async def post_entry(
        body: PostJournalEntryBody,
        ledger: LedgerDep,
        cmd: Annotated[CommandCall, Depends(command_call(BOOKKEEPERS, "posting a journal entry"))],
    ) -> Any:
        command = PostJournalEntry(body.details(), body.line_inputs())
        return await cmd.written(
            ledger.commands.post_journal_entry, command, location="/v1/journal-entries/{id}"
        )

A service binds the kernel once (``CommandRoutes``: where its bus and the verified identity
come from, and how it checks roles); ``command_call(roles, action, if_match=True)`` then makes
a route's dependency. The OpenAPI document shows ``Idempotency-Key`` (and ``If-Match`` where
asked) as header parameters of the route, as if the route had declared them itself.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameters' annotations of the
# dependency built below as objects, and they refer to the binding's own identity dependency.
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request, Response

from shared_kernel.commands import CommandBus, Handler
from shared_kernel.identity import Caller, require_any_role
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext, CommandResult
from shared_kernel.web import IdempotencyKeyHeader, IfMatch, command_context

C = TypeVar("C")

Permit = Callable[[Caller, frozenset[Role], str], None]
"""Refuses (raises ``PermissionDenied``) a caller who may not run a command: the caller, the
roles allowed and the action for the refusal's text (``require_any_role`` by default)."""


def written(result: CommandResult) -> dict[str, Any]:
    """The usual answer of a command: the aggregate, its new version, and the position to read
    at (the services' ``Written`` models)."""
    return {"id": result.aggregate_id, "version": result.version, "position": result.position}


@dataclass(frozen=True)
class CommandCall:
    """One HTTP command request: who calls (``caller``, ``context``), which version the client
    decided on (``expected_version`` from ``If-Match``), and the bus to run it on."""

    caller: Caller
    context: CommandContext
    expected_version: int | None
    bus: CommandBus
    response: Response

    @property
    def idempotency_key(self) -> str | None:
        """The client's ``Idempotency-Key``, if it sent one (to derive ids a retry repeats)."""
        return self.context.idempotency.key if self.context.idempotency else None

    async def run(
        self, handler: Handler[C], command: C, *, location: str | None = None
    ) -> CommandResult:
        """Run ``handler`` through the bus (once per Idempotency-Key, retried on concurrency
        conflicts). ``location`` (``{id}`` is the aggregate's id) becomes the ``Location``
        header of a created resource."""
        result = await self.bus.execute(self.context, handler, command)
        if location is not None:
            self.response.headers["Location"] = location.format(id=result.aggregate_id)
        return result

    async def written(
        self, handler: Handler[C], command: C, *, location: str | None = None
    ) -> dict[str, Any]:
        """``run``, answered as id, version and position."""
        return written(await self.run(handler, command, location=location))


class CommandRoutes:
    """A service's binding of the command path: ``bus_of`` gives the service's bus for a
    request, ``identity`` is the service's dependency for the verified caller (the same one
    its reads use, so FastAPI resolves it once per request), ``permit`` checks roles."""

    def __init__(
        self,
        bus_of: Callable[[Request], CommandBus],
        identity: Callable[..., Awaitable[Caller]],
        permit: Permit = require_any_role,
    ) -> None:
        self._bus_of = bus_of
        self._identity = identity
        self._permit = permit

    def __call__(
        self,
        allowed: frozenset[Role],
        action: str,
        *,
        if_match: bool = False,
        idempotent: bool = True,
        permit: Permit | None = None,
    ) -> Callable[..., Awaitable[CommandCall]]:
        """The dependency of one route: callers with one of the ``allowed`` roles may run it
        (403 naming ``action`` otherwise); ``if_match`` takes the expected version from
        ``If-Match``; ``idempotent`` accepts an ``Idempotency-Key``."""
        check = permit or self._permit
        bus_of = self._bus_of

        async def command(
            request: Request,
            response: Response,
            caller: Caller,
            idempotency_key: str | None = None,
            version: int | None = None,
        ) -> CommandCall:
            check(caller, allowed, action)
            document = await _json_document(request) if idempotency_key is not None else None
            context = command_context(caller, request, document, idempotency_key)
            return CommandCall(caller, context, version, bus_of(request), response)

        # The parameters FastAPI sees: the route documents exactly the headers it takes.
        parameters = [
            _parameter("request", Request),
            _parameter("response", Response),
            _parameter("caller", Annotated[Caller, Depends(self._identity)]),
        ]
        if idempotent:
            parameters.append(_parameter("idempotency_key", IdempotencyKeyHeader, default=None))
        if if_match:
            parameters.append(_parameter("version", IfMatch))
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return command


def _parameter(name: str, annotation: Any, **default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, **default)


async def _json_document(request: Request) -> Any:
    """The request's JSON body as sent (the Idempotency-Key fingerprint covers it), or its
    text when it is no JSON (the route's own validation answers that). orjson: the same
    values as ``json`` at several times the speed (a bulk posting's body is megabytes); what it
    refuses (an integer beyond 64 bits, say) is fingerprinted as text, the same at every retry."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")

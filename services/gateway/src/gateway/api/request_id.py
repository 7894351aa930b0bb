"""The request id: made at the edge, carried to every service (it becomes the correlation id
of the events the request causes), returned to the client, and written in every log line made
while the request is handled.

The gateway always makes its own, unique one: a client's ``X-Request-Id`` is never reused, or
two requests could share an id, and one client could put its events in another's history. A
client may still bring its own (to correlate its logs with ours): when it is a harmless token
it is kept beside ours as the client request id, in the audit record and the log lines, and
returned in ``X-Client-Request-Id``.

Logging: the middleware starts the request's log context (``shared_kernel.logs``) with both
ids, so that every log line made while the request is handled carries them.
"""

from __future__ import annotations

import re
from uuid import uuid4

from shared_kernel.logs import bind_request, reset_request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
CLIENT_REQUEST_ID_HEADER = "X-Client-Request-Id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9-]{8,64}")


def new_request_id() -> str:
    """A fresh, unique request id."""
    return str(uuid4())


def accept_client_request_id(candidate: str | None) -> str | None:
    """The client's own request id when it is a harmless token, else None."""
    if candidate is not None and _ACCEPTABLE.fullmatch(candidate):
        return candidate
    return None


class RequestIdMiddleware:
    """Puts a new request id in ``request.state.request_id`` (and the client's own, if any, in
    ``request.state.client_request_id``), in the logging context and on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        theirs = accept_client_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        state = scope.setdefault("state", {})
        state["request_id"], state["client_request_id"] = request_id, theirs

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                if theirs is not None:
                    headers[CLIENT_REQUEST_ID_HEADER] = theirs
            await send(message)

        token = bind_request(request_id, theirs)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            reset_request(token)

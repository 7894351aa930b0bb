"""The request id: made at the edge, carried to every service, returned to the client.

A client may bring its own ``X-Request-Id`` (to correlate its logs with ours); it is accepted
only when it is a harmless token, otherwise the gateway makes a fresh one.
"""

from __future__ import annotations

import re
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9-]{8,64}")


def accept_request_id(candidate: str | None) -> str:
    """The client's request id when acceptable, else a new UUID."""
    if candidate is not None and _ACCEPTABLE.fullmatch(candidate):
        return candidate
    return str(uuid4())


class RequestIdMiddleware:
    """Puts the request id in ``request.state.request_id`` and on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_request_id)

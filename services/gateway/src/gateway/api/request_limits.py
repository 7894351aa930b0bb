"""What every request must respect before the gateway looks at it: a bounded URL without NUL
characters, and a body that arrives in time.

- A URL (path and query, as sent) longer than ``MAX_URL_BYTES`` is answered 414. Without the
  limit, a URL longer than the upstream HTTP client accepts (64 KiB) failed as a 500.
- A NUL character (``%00``) in the path or the query is answered 400: no service can use one,
  and PostgreSQL cannot even store it, so it would fail deep inside as a 500.
- The body must arrive within ``BODY_READ_TIMEOUT_SECONDS`` of the request's head: a client
  that trickles it is answered 408 and the connection closed. (The head itself is guarded by
  the server protocol, see ``gateway.server``.)
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from shared_kernel.web import problem
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL = "\x00"


class BodyReadTimedOut(HTTPException):
    """The body did not arrive in time. An HTTPException, so that FastAPI's body parsing lets
    it through instead of turning it into a 400."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s")
        self.seconds = seconds


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_url_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_url_bytes = max_url_bytes
        self.body_timeout = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._in_time(receive), send)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        if len(raw_path) + (len(query) + 1 if query else 0) > self.max_url_bytes:
            return problem(
                414,
                "URI too long",
                f"path and query may hold at most {self.max_url_bytes} bytes",
                code="UriTooLong",
            )
        for field, text in (
            ("path", scope["path"]),
            ("query", unquote_to_bytes(query).decode("latin-1")),
        ):
            if NUL in text:
                return problem(
                    400,
                    "Invalid URL",
                    f"the {field} must not contain a NUL character (%00)",
                    code="InvalidUrl",
                    field=field,
                )
        return None

    def _in_time(self, receive: Receive) -> Receive:
        """``receive`` under one deadline until the body is complete; later calls (waiting
        for a disconnect while the answer streams) are not limited."""
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyReadTimedOut(self.body_timeout) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return receive_in_time

"""The request id: made at the edge, carried to every service, returned to the client, and
written in every log line made while the request is handled.

A client may bring its own ``X-Request-Id`` (to correlate its logs with ours); it is accepted
only when it is a harmless token, otherwise the gateway makes a fresh one.

Logging: the middleware puts the id in a context variable for the duration of the request, and
a log record factory copies it onto every record as ``request_id`` (``-`` outside a request).
A factory rather than a filter, because a filter on one logger does not see the records of
other libraries (uvicorn, httpx, aiokafka), whereas every record is made by the factory.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9-]{8,64}")
NO_REQUEST = "-"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

current_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def accept_request_id(candidate: str | None) -> str:
    """The client's request id when acceptable, else a new UUID."""
    if candidate is not None and _ACCEPTABLE.fullmatch(candidate):
        return candidate
    return str(uuid4())


class RequestIdMiddleware:
    """Puts the request id in ``request.state.request_id``, in the logging context and on
    every response."""

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

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Sets ``request_id`` on records that lack it, for handlers configured elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


def install_request_id_logging(level: str = "INFO") -> None:
    """Stamp every log record with the current request id; when nobody configured logging
    (uvicorn configures only its own loggers), also print records with the id in each line."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "stamps_request_id", False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.request_id = current_request_id.get()
            return record

        factory.stamps_request_id = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(level.upper())
        # One line per upstream call says nothing the audit trail does not; warnings still show.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))

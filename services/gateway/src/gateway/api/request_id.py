"""The request id: made at the edge, carried to every service (it becomes the correlation id
of the events the request causes), returned to the client, and written in every log line made
while the request is handled.

The gateway always makes its own, unique one: a client's ``X-Request-Id`` is never reused, or
two requests could share an id, and one client could put its events in another's history. A
client may still bring its own (to correlate its logs with ours): when it is a harmless token
it is kept beside ours as the client request id, in the audit record and the log lines, and
returned in ``X-Client-Request-Id``.

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
CLIENT_REQUEST_ID_HEADER = "X-Client-Request-Id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9-]{8,64}")
NO_REQUEST = "-"
LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s client %(client_request_id)s] %(message)s"
)

current_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)
current_client_request_id: ContextVar[str] = ContextVar("client_request_id", default=NO_REQUEST)


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

        token = current_request_id.set(request_id)
        client_token = current_client_request_id.set(theirs or NO_REQUEST)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            current_client_request_id.reset(client_token)
            current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Sets the request ids on records that lack them, for handlers configured elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        _stamp(record)
        return True


def _stamp(record: logging.LogRecord) -> None:
    if not hasattr(record, "request_id"):
        record.request_id = current_request_id.get()
    if not hasattr(record, "client_request_id"):
        record.client_request_id = current_client_request_id.get()


def install_request_id_logging(level: str = "INFO") -> None:
    """Stamp every log record with the current request ids; when nobody configured logging
    (uvicorn configures only its own loggers), also print records with the id in each line."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "stamps_request_id", False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _stamp(record)
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

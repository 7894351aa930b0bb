"""Log lines every process writes the same way: JSON, one object per line (or text for people).

Each line carries the time (ISO 8601, UTC), level, service, logger and message, and when known
the request id (the gateway's, forwarded to the services in ``X-Request-Id``), the client's own
request id, the trace and span ids of the current OpenTelemetry span, the actor (subject and
office of the verified caller), and the exception with its traceback.

Where the values come from: ``RequestContextMiddleware`` (or the gateway's own request-id
middleware) puts a ``RequestContext`` in a context variable for the duration of a request;
whoever verifies the caller fills in the actor (``bind_actor``). The context is one mutable
object rather than several variables because FastAPI may run a dependency in a copy of the
context (a task group): a value *set* there would not be seen afterwards, a field of the
shared object is. A log record factory copies the values onto every record when it is made,
whatever library makes it (uvicorn, httpx, aiokafka), so a handler, ``caplog`` or a queue
later sees them as they were.

``configure_logging(service)`` installs the formatter (``LOG_FORMAT=json|text``, default json;
``make run`` sets text) on the root logger and sends uvicorn's error and access logs through
it. It installs its handler only where nobody configured logging (a test's ``caplog`` stays as
it is); the record factory always.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from opentelemetry import trace
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
NO_REQUEST = "-"
#: uvicorn's loggers: their records go through the root logger's formatter instead of their own.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(service)s %(name)s "
    "[%(request_id)s %(actor_text)s%(trace_text)s] %(message)s"
)
# A request id a service accepts from the gateway: a token, never anything to escape in a log.
_MAX_REQUEST_ID = 64

LogFormat = Literal["json", "text"]


class LogSettings(BaseSettings):
    """``LOG_FORMAT`` and ``LOG_LEVEL`` from the environment (for a process without service
    settings, such as the console)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    log_format: LogFormat = "json"
    log_level: str = "INFO"


@dataclass
class RequestContext:
    """What a log line made during one request says about it."""

    request_id: str
    client_request_id: str | None = None
    actor_subject: str | None = None
    actor_office: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("log_request_context", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def bind_request(
    request_id: str, client_request_id: str | None = None
) -> Token[RequestContext | None]:
    """Start a request's context; ``reset_request`` with the token ends it."""
    return _current.set(RequestContext(request_id, client_request_id))


def reset_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def bind_actor(subject: str, office: str, request_id: str = "") -> None:
    """Name the verified caller of the current request (nothing outside a request), and its
    request id when the request named none (the one the gateway signed into the identity)."""
    context = _current.get()
    if context is not None:
        context.actor_subject, context.actor_office = subject, str(office)
        if context.request_id == NO_REQUEST and acceptable_request_id(request_id):
            context.request_id = request_id


def acceptable_request_id(candidate: str | None) -> str | None:
    """A forwarded request id fit for a log line: printable, no spaces, not too long."""
    if not candidate or len(candidate) > _MAX_REQUEST_ID or " " in candidate:
        return None
    return candidate if candidate.isprintable() else None


class RequestContextMiddleware:
    """A service's requests: the request id the gateway forwarded (``X-Request-Id``) in the
    log context while the request is handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = acceptable_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = bind_request(request_id or NO_REQUEST)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_request(token)


def stamp(record: logging.LogRecord) -> None:
    """Copy the request context and the current span onto ``record`` (what it lacks)."""
    fields: MutableMapping[str, Any] = record.__dict__
    if "request_id" not in fields:
        context = _current.get()
        fields["request_id"] = context.request_id if context else NO_REQUEST
        fields["client_request_id"] = context.client_request_id if context else None
        fields["actor_subject"] = context.actor_subject if context else None
        fields["actor_office"] = context.actor_office if context else None
    if "trace_id" not in fields:
        span = trace.get_current_span().get_span_context()
        fields["trace_id"] = format(span.trace_id, "032x") if span.is_valid else None
        fields["span_id"] = format(span.span_id, "016x") if span.is_valid else None


def install_record_factory() -> None:
    """Stamp every log record with the request context and span when it is made (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_log_context", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        stamp(record)
        return record

    factory.stamps_log_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields that are not known are left out."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        stamp(record)  # a record made before the factory was installed
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        if fields["request_id"] != NO_REQUEST:
            line["request_id"] = fields["request_id"]
        if fields["client_request_id"]:
            line["client_request_id"] = fields["client_request_id"]
        if fields["trace_id"]:
            line["trace_id"], line["span_id"] = fields["trace_id"], fields["span_id"]
        if fields["actor_subject"]:
            line["actor"] = {"subject": fields["actor_subject"], "office": fields["actor_office"]}
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # default=str: a message argument that JSON cannot hold is still written, as text.
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A line a person reads: time, level, service, logger, [request actor trace] message."""

    def __init__(self, service: str) -> None:
        super().__init__(TEXT_FORMAT)
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        stamp(record)
        record.service = self.service
        subject, office = record.__dict__["actor_subject"], record.__dict__["actor_office"]
        record.actor_text = f"{subject}@{office}" if subject else "-"
        trace_id = record.__dict__["trace_id"]
        record.trace_text = f" trace {trace_id}" if trace_id else ""
        return super().format(record)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _time(record)


def formatter(service: str, log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter(service) if log_format == "json" else TextFormatter(service)


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (recognised, so it is replaced, not doubled)."""


class LogOptions(Protocol):
    """What ``configure_logging`` reads: ``LogSettings``, or any service's settings."""

    @property
    def log_format(self) -> LogFormat: ...

    @property
    def log_level(self) -> str: ...


def configure_logging(service: str, options: LogOptions | None = None) -> None:
    """Log lines of this process in ``options.log_format`` at ``options.log_level`` (default:
    ``LOG_FORMAT`` and ``LOG_LEVEL`` from the environment), uvicorn's included. Idempotent."""
    install_record_factory()
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _ServiceHandler)]
    if root.handlers and not ours:
        return  # configured by someone else (a test's log capture): leave it alone
    options = options or LogSettings()
    for handler in ours:
        root.removeHandler(handler)
    handler = _ServiceHandler(sys.stderr)
    handler.setFormatter(formatter(service, options.log_format))
    root.addHandler(handler)
    root.setLevel(options.log_level.upper())
    for name in UVICORN_LOGGERS:
        # uvicorn configured these with its own handlers before it built the app: one format.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # One line per upstream call says nothing an access log does not; warnings still show.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


def uvicorn_log_config() -> dict[str, Any]:
    """A ``log_config`` for ``uvicorn.run``/``uvicorn.Config``: uvicorn leaves logging to
    ``configure_logging`` (its loggers propagate to the root logger, no handlers of their own)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
    }

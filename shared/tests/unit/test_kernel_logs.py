"""Log lines: one JSON object per line with time, level, service, logger, message, request id,
actor, trace id and exception; the text format for people; the request context of a service."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, use_span
from shared_kernel.logs import (
    JsonFormatter,
    RequestContextMiddleware,
    TextFormatter,
    bind_actor,
    bind_request,
    configure_logging,
    install_record_factory,
    reset_request,
    uvicorn_log_config,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines of the service ``ledger`` to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("ledger"))
    logger = logging.getLogger("test.logs.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_outside_a_request_has_the_base_fields_and_nothing_unknown(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture

    logger.info("relay published %d events", 3)

    [line] = lines(buffer)
    assert set(line) == {"time", "level", "service", "logger", "message"}
    assert line["level"] == "INFO"
    assert line["service"] == "ledger"
    assert line["logger"] == "test.logs.json"
    assert line["message"] == "relay published 3 events"
    moment = datetime.fromisoformat(str(line["time"]).replace("Z", "+00:00"))
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert str(line["time"]).endswith("Z")


def test_a_line_in_a_request_carries_its_id_and_actor(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture
    token = bind_request("rid-123", "client-42")
    try:
        bind_actor("alice", "back-office")
        logger.warning("booking refused")
    finally:
        reset_request(token)
    logger.warning("after the request")

    inside, after = lines(buffer)
    assert inside["request_id"] == "rid-123"
    assert inside["client_request_id"] == "client-42"
    assert inside["actor"] == {"subject": "alice", "office": "back-office"}
    assert "request_id" not in after and "actor" not in after


def test_the_exception_and_its_traceback_are_in_the_same_line(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture
    try:
        raise ValueError("balance would go negative\nsecond line")
    except ValueError:
        logger.exception("command failed")

    raw = buffer.getvalue()
    assert raw.count("\n") == 1  # one line, however many lines the traceback has
    [line] = lines(buffer)
    assert line["level"] == "ERROR"
    assert "Traceback (most recent call last)" in str(line["exception"])
    assert "ValueError: balance would go negative" in str(line["exception"])


def test_the_trace_id_of_the_current_span_is_written(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture
    context = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with use_span(NonRecordingSpan(context)):
        logger.info("in a span")
    logger.info("no span")

    traced, untraced = lines(buffer)
    assert traced["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert traced["span_id"] == "00f067aa0ba902b7"
    assert "trace_id" not in untraced


def test_arguments_json_cannot_hold_are_written_as_text(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture
    logger.info("odd %s", object.__new__(type("Odd", (), {"__repr__": lambda _: "odd!"})))
    logger.info('unicode ✓ and "quotes"\nand a newline')

    first, second = lines(buffer)
    assert first["message"] == "odd odd!"
    assert second["message"] == 'unicode ✓ and "quotes"\nand a newline'


def test_the_text_format_names_request_and_actor() -> None:
    install_record_factory()  # the record is formatted after the request: stamped when made
    token = bind_request("rid-9")
    try:
        bind_actor("bob", "front-office")
        record = logging.getLogRecordFactory()(
            "ledger.app", logging.INFO, __file__, 1, "posted %s", ("E1",), None
        )
    finally:
        reset_request(token)

    line = TextFormatter("ledger").format(record)

    assert line.endswith("Z INFO ledger ledger.app [rid-9 bob@front-office] posted E1")


async def test_a_service_request_puts_the_forwarded_request_id_in_its_lines(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = capture
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/v1/things")
    async def things() -> dict[str, str]:
        bind_actor("carol", "back-office", "rid-signed-by-the-gateway")
        logger.info("listing things")
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        await client.get("/v1/things", headers={"X-Request-Id": "6f1d2c9e-rid"})
        await client.get("/v1/things", headers={"X-Request-Id": "has space"})

    forwarded, refused = lines(buffer)
    assert forwarded["request_id"] == "6f1d2c9e-rid"
    assert forwarded["actor"] == {"subject": "carol", "office": "back-office"}
    # An id unfit for a log line is not written; the one signed into the identity is.
    assert refused["request_id"] == "rid-signed-by-the-gateway"


def test_configure_logging_leaves_a_configured_root_alone_and_reroutes_uvicorn() -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    configure_logging("ledger")
    assert root.handlers == handlers  # pytest's capture is configured: left as it is

    config = uvicorn_log_config()
    assert set(config["loggers"]) == {"uvicorn", "uvicorn.error", "uvicorn.access"}
    assert all(c == {"handlers": [], "propagate": True} for c in config["loggers"].values())


def test_configure_logging_installs_one_handler_and_sends_uvicorn_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    access = logging.getLogger("uvicorn.access")
    saved_access = (list(access.handlers), access.propagate)
    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    root.handlers.clear()  # a process nobody configured logging in, as under uvicorn
    access.handlers.append(logging.NullHandler())
    access.propagate = False
    try:
        configure_logging("risk")
        configure_logging("risk")  # again (a second app in the process): still one handler

        [handler] = root.handlers
        assert isinstance(handler.formatter, TextFormatter)
        assert handler.formatter.service == "risk"
        assert root.level == logging.WARNING
        assert access.handlers == [] and access.propagate
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        access.handlers[:], access.propagate = saved_access

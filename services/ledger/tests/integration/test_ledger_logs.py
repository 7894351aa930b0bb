"""The ledger served by uvicorn as in production: the access log line of a request forwarded by
the gateway is a JSON object carrying the gateway's request id and the verified actor."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app
from shared_kernel.logs import JsonFormatter, uvicorn_log_config
from shared_kernel.testing import Headers

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line of the process, as the service's JSON formatter writes it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("ledger"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


async def test_an_access_log_line_carries_the_request_id_and_the_actor(
    ledger_settings: LedgerSettings, as_role: Headers, log_lines: io.StringIO
) -> None:
    port = free_port()
    config = uvicorn.Config(
        create_app(ledger_settings),
        host="127.0.0.1",
        port=port,
        log_config=uvicorn_log_config(),
        log_level="info",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the ledger did not start"
            await asyncio.sleep(0.05)
        headers = {**as_role(subject="alice"), "X-Request-Id": "0b6f1e5c-2d7a-4c1e-9a11-rid"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answer = await client.get("/v1/accounts", headers=headers)
        assert answer.status_code == 200, answer.text
    finally:
        server.should_exit = True
        await serving

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [access] = [
        line
        for line in lines
        if line["logger"] == "uvicorn.access" and "/v1/accounts" in str(line["message"])
    ]
    assert access["service"] == "ledger"
    assert access["request_id"] == "0b6f1e5c-2d7a-4c1e-9a11-rid"
    assert access["actor"] == {"subject": "alice", "office": "back"}
    assert access["level"] == "INFO"
    # The start-up lines of uvicorn went through the same formatter (no request there).
    assert any(line["logger"] == "uvicorn.error" and "request_id" not in line for line in lines)

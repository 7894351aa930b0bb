"""What traces cost (issue 15): CPU per request with traces off and on, in one run.

- Posting: a ledger app in this process (real PostgreSQL and Kafka, relay and projection
  running), ``ENTRIES`` journal entries posted by ``CLIENTS`` concurrent clients over ASGI and
  waited for until the read model has applied the last; the process's CPU time (every thread:
  client, app, relay, projection, span exporter) over that span, per entry. Rounds alternate
  off, on, off, on, each on a fresh database (the projection's consumer spans are fixed when
  the app starts); traces on means what ``OTEL_TRACES_EXPORTER=otlp`` gives a service: spans
  batched to an OTLP/HTTP collector, here a sink in a process of its own.
- The middleware alone: ``CALLS`` requests straight into a trivial ASGI app, bare, behind
  ``TracingMiddleware`` with traces off, and with traces on: CPU per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from bench_common import Report, Result, create_database, kafka_bootstrap, namespace
from ledger.__main__ import MIGRATIONS
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from shared_kernel import tracing
from shared_kernel.identity import (
    IDENTITY_HEADER,
    Caller,
    IdentitySigner,
    ensure_keypair,
    key_id_of,
)
from shared_kernel.migrations import upgrade
from shared_kernel.traced_requests import TracingMiddleware
from starlette.types import Receive, Scope, Send

ENTRIES = 400
CLIENTS = 8
CALLS = 20_000
MODES = ("off", "on", "off", "on")

SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """A collector that takes every export and throws it away, in a process of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1/traces"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def traces(mode: str, endpoint: str) -> Iterator[None]:
    if mode == "off":
        yield
        return
    with tracing.record_spans(OTLPSpanExporter(endpoint=endpoint), batched=True):
        yield


@contextlib.asynccontextmanager
async def ledger(keys: tuple[Path, Path]) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database("traces", migrate=False)
    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    settings = LedgerSettings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap(),
        topic_namespace=namespace(),
        identity_public_key_file=keys[1],
        run_expiry_sweeper=False,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://ledger", timeout=60
        ) as client,
    ):
        yield client


async def post_entries(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """Open two accounts, post ``ENTRIES`` entries; the last position."""
    accounts = []
    for code, kind in (("1200", "asset"), ("8400", "revenue")):
        body = {"code": code, "name": code, "account_type": kind, "currency": "EUR"}
        opened = await client.post("/v1/accounts", json=body, headers=headers)
        accounts.append(opened.json()["id"])
    positions: list[int] = []
    numbers = iter(range(ENTRIES))

    async def poster() -> None:
        for n in numbers:
            answer = await client.post(
                "/v1/journal-entries",
                json={
                    "voucher_number": f"T-{n}",
                    "booking_date": "2026-12-03",
                    "text": "traced",
                    "lines": [
                        {
                            "account_id": accounts[0],
                            "side": "debit",
                            "amount": 100,
                            "currency": "EUR",
                        },
                        {
                            "account_id": accounts[1],
                            "side": "credit",
                            "amount": 100,
                            "currency": "EUR",
                        },
                    ],
                },
                headers=headers,
            )
            if answer.status_code != 201:
                raise RuntimeError(f"posting answered {answer.status_code}: {answer.text[:200]}")
            positions.append(int(answer.json()["position"]))

    await asyncio.gather(*(poster() for _ in range(CLIENTS)))
    return max(positions)


async def caught_up(client: httpx.AsyncClient, headers: dict[str, str], position: int) -> None:
    while True:
        answer = await client.get(
            "/v1/accounts", params={"min_position": position, "wait_ms": 5000}, headers=headers
        )
        if answer.headers.get("x-consistent") == "true":
            return


async def posting_round(mode: str, endpoint: str, keys: tuple[Path, Path]) -> float:
    """CPU seconds per posted entry, with traces ``mode``."""
    signer = IdentitySigner(keys[0].read_bytes(), key_id_of(keys[1].read_bytes()))
    caller = Caller("user:bench", frozenset({"accountant"}), "back", request_id="bench")
    headers = {IDENTITY_HEADER: signer.sign(caller, audience="ledger")}
    with traces(mode, endpoint):
        async with ledger(keys) as client:
            started = time.process_time()
            last = await post_entries(client, headers)
            await caught_up(client, headers, last)
            return (time.process_time() - started) / ENTRIES


async def plain(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def middleware_cost(app: Any) -> float:
    """CPU seconds per request straight into ``app`` (no HTTP client, no server)."""
    scope = {"type": "http", "method": "GET", "path": "/v1/things/7", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_: Any) -> None:
        return None

    started = time.process_time()
    for _ in range(CALLS):
        await app(dict(scope), receive, send)
    return (time.process_time() - started) / CALLS


async def run(report: Report) -> None:
    keys = ensure_keypair(Path(tempfile.mkdtemp(prefix="bench-traces-")))
    per_mode: dict[str, list[float]] = {"off": [], "on": []}
    with otlp_sink() as endpoint:
        traced = TracingMiddleware(plain, "bench")
        for mode in MODES:
            with traces(mode, endpoint):
                per_mode[f"{mode}"].append(await middleware_cost(traced))
        bare = await middleware_cost(plain)
        off, on = min(per_mode["off"]), min(per_mode["on"])
        report.add(
            Result("tracing middleware, traces off", off * 1e6, "µs/request", "bare app",
                   bare * 1e6, decimals=2, notes=[f"{CALLS} requests into a trivial ASGI app"])
        )  # fmt: skip
        report.add(
            Result("tracing middleware, traces on (OTLP)", on * 1e6, "µs/request",
                   "traces off", off * 1e6, decimals=2)
        )  # fmt: skip
        posting: dict[str, list[float]] = {"off": [], "on": []}
        for mode in MODES:
            posting[mode].append(await posting_round(mode, endpoint, keys))
    off, on = min(posting["off"]), min(posting["on"])
    report.add(
        Result("CPU per journal entry, traces on (OTLP)", on * 1e3, "ms", "traces off",
               off * 1e3, decimals=2, notes=[
                   f"{ENTRIES} entries by {CLIENTS} clients in-process, until the projection "
                   "applied them; whole process (client, app, relay, projection, exporter); "
                   "best of two rounds each, alternating: "
                   + ", ".join(f"{m} {v * 1e3:.2f}" for m, vs in posting.items() for v in vs)
               ])
    )  # fmt: skip

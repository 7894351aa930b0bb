"""Traces leave a process by OTLP/HTTP when, and only when, ``OTEL_TRACES_EXPORTER=otlp``: a
fresh process (as a service starts) sends its spans, named after its service, to the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``, here a small test-only collector; without the setting it
builds no tracer and sends nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

pytestmark = pytest.mark.integration

# What a service does: the exporter from its settings, its tracer, a span, a flush at stop.
SERVICE_PROCESS = """
from shared_kernel import tracing
from shared_kernel.settings import ServiceSettings

tracing.configure(ServiceSettings().otel_traces_exporter)
tracer = tracing.tracer_for("ledger")
print("tracer" if tracer else "no tracer")
if tracer is not None:
    with tracer.start_as_current_span("POST /v1/journal-entries"):
        pass
tracing.flush()
"""


class Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    handler = type("Handler", (Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def run_service(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", SERVICE_PROCESS],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_otlp_sends_the_services_spans_to_the_endpoint(
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, received = collector
    assert (
        run_service(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint) == "tracer"
    )
    [(path, body)] = received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "ledger"
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert names == ["POST /v1/journal-entries"]


def test_without_the_setting_nothing_is_traced_or_sent(
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, received = collector
    assert run_service(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint) == "no tracer"
    assert received == []

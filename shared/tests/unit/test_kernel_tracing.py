"""Traces: W3C ``traceparent`` read and written, off by default (no span, no header, nothing
stored), server spans that continue a service's caller but only link to a client of the
gateway, consumer spans that continue each event's trace, and a trace context that stays
outside the hash chain and travels on the CloudEvent."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, get_current_span
from shared_kernel import tracing
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.eventstore import (
    GENESIS_HASH,
    EventMetadata,
    NewEvent,
    StreamAppend,
    chain_events,
    chain_hash,
)
from shared_kernel.settings import ServiceSettings
from shared_kernel.traced_requests import TracingMiddleware

pytestmark = pytest.mark.unit

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    with tracing.record_spans(exporter):
        yield exporter


def envelope(**changes: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "id": uuid4(),
        "source": "/ledger",
        "type": "ledger.JournalEntryPosted.v1",
        "subject": f"entry-{uuid4()}",
        "time": datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        "data": {"amount": 1250},
        "stream_type": "journal_entry",
        "stream_version": 1,
        "position": 7,
        "correlation_id": "case-1",
        "causation_id": "case-1",
        "actor": Actor("user:anna", "back"),
    }
    return EventEnvelope(**{**fields, **changes})


# -- traceparent ------------------------------------------------------------------------------


def test_a_traceparent_is_read_and_written_back_unchanged() -> None:
    context = tracing.parse_traceparent(TRACEPARENT, "congo=t61rcWkgMzE")
    assert context is not None and context.is_remote and context.trace_flags.sampled
    assert f"{context.trace_id:032x}" == TRACE_ID and f"{context.span_id:016x}" == SPAN_ID
    assert context.trace_state.to_header() == "congo=t61rcWkgMzE"
    assert tracing.format_traceparent(context) == TRACEPARENT
    unsampled = tracing.parse_traceparent(f"00-{TRACE_ID}-{SPAN_ID}-00")
    assert unsampled is not None and not unsampled.trace_flags.sampled


def test_a_later_version_is_read_as_version_00() -> None:
    context = tracing.parse_traceparent(f"cc-{TRACE_ID}-{SPAN_ID}-01-what-comes-later")
    assert context is not None
    assert tracing.format_traceparent(context) == TRACEPARENT


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        TRACEPARENT.upper(),  # lower-case hex only
        f"ff-{TRACE_ID}-{SPAN_ID}-01",  # version ff is invalid
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",  # version 00 has exactly four fields
        f"00-{'0' * 32}-{SPAN_ID}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-1",
        f"00-{TRACE_ID}-{SPAN_ID}-01\n",
        TRACEPARENT + "-" + "x" * 600,
    ],
)
def test_an_invalid_traceparent_names_nothing(value: str | None) -> None:
    assert tracing.parse_traceparent(value) is None
    assert tracing.link_to(value) == []


# -- off by default ---------------------------------------------------------------------------


def test_traces_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert ServiceSettings().otel_traces_exporter == "none"
    tracing.configure("none")
    assert not tracing.enabled()
    assert tracing.tracer_for("ledger") is None
    assert tracing.current_trace() == ("", "")
    with tracing.consuming(None, "ledger.view", [envelope(traceparent=TRACEPARENT)]):
        assert not get_current_span().get_span_context().is_valid


def test_the_exporter_is_a_setting_and_an_unknown_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert ServiceSettings().otel_traces_exporter == "otlp"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="otel_traces_exporter"):
        ServiceSettings()
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        tracing.configure("zipkin")


async def test_with_traces_off_a_request_passes_the_middleware_untouched() -> None:
    async with traced_client(continue_incoming=True) as client:
        answer = await client.get("/things/7", headers={"traceparent": TRACEPARENT})
    assert answer.json() == {"trace": ""}  # no span was current while the route ran


# -- server spans -----------------------------------------------------------------------------


def traced_client(*, continue_incoming: bool) -> httpx.AsyncClient:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, str]:
        return {"trace": tracing.current_trace()[0]}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    app.add_middleware(TracingMiddleware, service="things", continue_incoming=continue_incoming)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://things")


async def test_a_service_continues_its_callers_trace(spans: InMemorySpanExporter) -> None:
    async with traced_client(continue_incoming=True) as client:
        answer = await client.get("/things/7", headers={"traceparent": TRACEPARENT})
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /things/{thing_id}" and span.kind == SpanKind.SERVER
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None and f"{span.parent.span_id:016x}" == SPAN_ID
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200
    assert span.attributes["http.route"] == "/things/{thing_id}"
    assert span.resource.attributes["service.name"] == "things"
    # The route ran inside the span: what it stores would carry the span's own context.
    assert answer.json()["trace"] == tracing.format_traceparent(span.context)


async def test_the_gateway_only_links_to_a_clients_trace(spans: InMemorySpanExporter) -> None:
    async with traced_client(continue_incoming=False) as client:
        await client.get("/things/7", headers={"traceparent": TRACEPARENT})
        await client.get("/things/8", headers={"traceparent": "forged"})
    linked, plain = spans.get_finished_spans()
    assert linked.parent is None and f"{linked.context.trace_id:032x}" != TRACE_ID
    assert [f"{link.context.trace_id:032x}" for link in linked.links] == [TRACE_ID]
    assert plain.parent is None and not plain.links


async def test_a_failed_request_is_an_error_span(spans: InMemorySpanExporter) -> None:
    async with traced_client(continue_incoming=True) as client:
        answer = await client.get("/broken")
    assert answer.status_code == 500
    (span,) = spans.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


# -- consumer spans ---------------------------------------------------------------------------


def test_consumer_spans_continue_each_events_trace(spans: InMemorySpanExporter) -> None:
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    events = [
        envelope(traceparent=TRACEPARENT),
        envelope(traceparent=other),
        envelope(traceparent=TRACEPARENT),
        envelope(),  # stored while traces were off
    ]
    tracer = tracing.tracer_for("risk")
    with tracing.consuming(tracer, "risk.exposures", events):
        current = tracing.current_trace()[0]
    first, second, untraced = spans.get_finished_spans()
    assert all(span.kind == SpanKind.CONSUMER for span in (first, second, untraced))
    assert [f"{s.context.trace_id:032x}" for s in (first, second)] == [TRACE_ID, "1" * 32]
    assert first.parent is not None and f"{first.parent.span_id:016x}" == SPAN_ID
    assert untraced.parent is None
    assert first.attributes is not None and first.attributes["messaging.batch.message_count"] == 2
    assert first.attributes["messaging.consumer.group.name"] == "risk.exposures"
    # The first event's span is current: what the inbox records continues its trace.
    assert current == tracing.format_traceparent(first.context)


def test_a_failed_batch_marks_its_consumer_spans(spans: InMemorySpanExporter) -> None:
    with (
        pytest.raises(RuntimeError),
        tracing.consuming(
            tracing.tracer_for("risk"), "risk.x", [envelope(traceparent=TRACEPARENT)]
        ),
    ):
        raise RuntimeError("poison")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR


# -- the stored event and the CloudEvent ------------------------------------------------------


def test_an_append_stores_the_current_trace_but_hashes_without_it(
    spans: InMemorySpanExporter,
) -> None:
    tracer = tracing.tracer_for("ledger")
    assert tracer is not None
    append = StreamAppend("entry-1", "journal_entry", 0, [NewEvent("ledger.Posted", 1, {"a": 1})])
    with tracer.start_as_current_span("POST /v1/journal-entries") as span:
        traceparent, tracestate = tracing.current_trace()
        metadata = EventMetadata(Actor("user:anna", "back"), "c", "c", traceparent, tracestate)
        ((stored, stored_hash),) = chain_events("/ledger", [append], metadata, [1], {})
    assert stored.traceparent == tracing.format_traceparent(span.get_span_context())
    untraced = dataclasses.replace(stored, traceparent="", tracestate="")
    assert stored_hash == chain_hash(GENESIS_HASH, untraced)


def test_the_cloudevent_carries_the_trace_context_extension() -> None:
    traced = envelope(traceparent=TRACEPARENT, tracestate="congo=t61rcWkgMzE")
    event = json.loads(traced.to_json_bytes())
    assert event["traceparent"] == TRACEPARENT and event["tracestate"] == "congo=t61rcWkgMzE"
    assert EventEnvelope.from_json_bytes(traced.to_json_bytes()) == dataclasses.replace(
        traced, dataschema=event["dataschema"]
    )
    untraced = json.loads(envelope().to_json_bytes())
    assert "traceparent" not in untraced and "tracestate" not in untraced

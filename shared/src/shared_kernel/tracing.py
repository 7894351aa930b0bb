"""Traces (OpenTelemetry): from the gateway through a service to the stored event, and on to
every projection and inbox that consumes it. Off by default.

Off, nothing is built and every hook is one check of "is tracing on?" (``tracer_for`` answers
None): no provider, no span, no header. ``OTEL_TRACES_EXPORTER=otlp`` (a service setting) turns
traces on, sent in batches by the OTLP/HTTP exporter, which reads the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4318``) and its other
``OTEL_EXPORTER_OTLP_*`` variables; ``console`` prints them; ``OTEL_TRACES_SAMPLER`` chooses the
sampler as usual. Tests call ``record_spans(exporter)`` (an ``InMemorySpanExporter``).

Spans are written by hand (no instrumentation package), at the few places that matter:

- every HTTP request gets a server span (``TracingMiddleware``); a service continues the
  ``traceparent`` its caller (the gateway) sent, the gateway does not trust a client's: it only
  links to it (a forged header can never join another trace, and tracing decides nothing else);
- the gateway's call to a service is a client span whose context goes upstream as
  ``traceparent`` (W3C Trace Context);
- an append stores the current span's context with each event (``current_trace``; the
  ``traceparent`` and ``tracestate`` columns, outside the hash chains: operational, not business
  data), the relay puts it on the CloudEvent (the CloudEvents distributed tracing extension);
- a projection or inbox applies the event under a consumer span, a child of that context
  (``consuming``).

Each service has its own provider (its ``service.name``), so that several services run in one
test process still name their own spans; they share this process's exporters.
"""

from __future__ import annotations

import atexit
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace import Tracer as Tracer
from opentelemetry.trace.span import TraceFlags, TraceState

from shared_kernel.envelope import EventEnvelope

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
EXPORTERS = ("none", "otlp", "console")

# W3C Trace Context: version-traceid-parentid-flags, lower-case hex; a later version may append
# fields after another dash (read as version 00, as the recommendation says).
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
# A tracestate longer than this is dropped rather than carried (the recommendation's limit).
_MAX_TRACESTATE = 512


def parse_traceparent(traceparent: str | None, tracestate: str | None = None) -> SpanContext | None:
    """The remote span context a ``traceparent`` header (and ``tracestate``) names, or None
    when it is missing or not valid W3C Trace Context (then nothing is continued)."""
    if not traceparent or len(traceparent) > 512:
        return None
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _INVALID_TRACE_ID or span_id == _INVALID_SPAN_ID:
        return None
    state = TraceState()
    if tracestate and len(tracestate) <= _MAX_TRACESTATE:
        state = TraceState.from_header([tracestate])
    return SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16) & TraceFlags.SAMPLED),
        trace_state=state,
    )


def format_traceparent(span_context: SpanContext) -> str:
    """The ``traceparent`` header of a span context (version 00)."""
    trace_id, span_id, flags = span_context.trace_id, span_context.span_id, span_context.trace_flags
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


class _Exporters(SpanProcessor):
    """The span processors of this process, shared by every service's provider: changing the
    list (``record_spans``) reaches every provider made before."""

    def __init__(self) -> None:
        self.processors: list[SpanProcessor] = []

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for processor in self.processors:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self.processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all([processor.force_flush(timeout_millis) for processor in self.processors])


_exporters = _Exporters()
_wanted: set[str] = set()  # exporters asked for, built at the first ``tracer_for``
_built: set[str] = set()
_tracers: dict[str, Tracer] = {}


def configure(exporter: str) -> None:
    """Ask for traces through ``exporter`` (``none``, ``otlp`` or ``console``) in this process:
    bookkeeping only; the exporter is built when a tracer is first asked for."""
    if exporter not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER must be one of {', '.join(EXPORTERS)}")
    if exporter != "none":
        _wanted.add(exporter)


def enabled() -> bool:
    """Whether this process records traces at all."""
    return bool(_wanted or _exporters.processors)


def tracer_for(service: str) -> Tracer | None:
    """The tracer of ``service`` (its own provider, named after it), or None when traces are
    off: every hook checks for None and does nothing else."""
    if not enabled():
        return None
    tracer = _tracers.get(service)
    if tracer is None:
        _build_exporters()
        # Not the global provider: there is one per service, and the global one can be set
        # only once per process (a test process runs several services).
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}), shutdown_on_exit=False
        )
        provider.add_span_processor(_exporters)
        tracer = _tracers[service] = provider.get_tracer("shared_kernel")
    return tracer


def _build_exporters() -> None:
    for exporter in sorted(_wanted - _built):
        processor: SpanProcessor
        if exporter == "otlp":
            # Imported here: only a process that exports pays for the exporter's imports.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(OTLPSpanExporter())
        else:
            processor = BatchSpanProcessor(ConsoleSpanExporter())
        _exporters.processors.append(processor)
        _built.add(exporter)
        atexit.register(processor.shutdown)  # the last batch leaves before the process ends


def flush() -> None:
    """Send the spans still queued (a service calls it when it stops)."""
    if _exporters.processors:
        _exporters.force_flush()


@contextmanager
def record_spans(exporter: SpanExporter, *, batched: bool = False) -> Iterator[None]:
    """For tests and benchmarks: every span of this process, whatever the settings, also goes
    to ``exporter`` while inside: synchronously (it is there when the span ends), or
    ``batched`` as a service exports them (flushed on the way out)."""
    processor = BatchSpanProcessor(exporter) if batched else SimpleSpanProcessor(exporter)
    _exporters.processors.append(processor)
    try:
        yield
    finally:
        _exporters.processors.remove(processor)
        processor.shutdown()


def current_trace() -> tuple[str, str]:
    """The ``traceparent`` and ``tracestate`` of the current span, stored with the events an
    append writes; empty when traces are off or no span is current."""
    if not enabled():
        return "", ""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return "", ""
    return format_traceparent(span_context), span_context.trace_state.to_header()


def remote_parent(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    """A context whose current span is the remote one named (an empty context, so a new trace,
    when nothing valid is named)."""
    remote = parse_traceparent(traceparent, tracestate)
    if remote is None:
        return otel_context.Context()
    return trace.set_span_in_context(NonRecordingSpan(remote), otel_context.Context())


def link_to(traceparent: str | None, tracestate: str | None = None) -> Sequence[Link]:
    """A link to the span named (none when nothing valid is named)."""
    remote = parse_traceparent(traceparent, tracestate)
    return [] if remote is None else [Link(remote)]


@contextmanager
def consuming(
    tracer: Tracer | None, consumer: str, events: Iterable[EventEnvelope]
) -> Iterator[None]:
    """Consumer spans over the processing of a batch of events by ``consumer`` (a projection or
    an inbox): one per distinct trace context the events carry, a child of it, and one root
    span for events that carry none. The first is current inside, so events an inbox records
    continue the trace of the first event of the batch. Nothing at all when ``tracer`` is None."""
    if tracer is None:
        yield
        return
    groups: dict[tuple[str, str], list[EventEnvelope]] = {}
    for event in events:
        groups.setdefault((event.traceparent, event.tracestate), []).append(event)
    spans = [
        tracer.start_span(
            f"process {consumer}",
            context=remote_parent(traceparent, tracestate),
            kind=SpanKind.CONSUMER,
            attributes=_consumed(consumer, grouped),
        )
        for (traceparent, tracestate), grouped in groups.items()
    ]
    token = otel_context.attach(trace.set_span_in_context(spans[0])) if spans else None
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        if token is not None:
            otel_context.detach(token)
        for span in spans:
            span.end()


def _consumed(consumer: str, events: Sequence[EventEnvelope]) -> dict[str, Any]:
    """Messaging and CloudEvents attributes (semantic conventions) of a group of events."""
    first = events[0]
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": consumer,
        "messaging.batch.message_count": len(events),
        "cloudevents.event_id": str(first.id),
        "cloudevents.event_source": first.source,
        "cloudevents.event_type": first.type,
        "cloudevents.event_subject": first.subject,
    }

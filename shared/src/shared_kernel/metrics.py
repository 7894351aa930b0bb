"""Prometheus metrics: one registry per process, names prefixed ``backoffice_``, label ``service``.

A process is one service, the gateway or the console; ``REGISTRY`` holds every metric the back
office defines, and ``GET /metrics`` (``install_metrics``) answers it in the Prometheus text
format. The names are the contract of ``deploy/observability/`` (its dashboard and alert rules
are checked against ``REGISTRY`` by a test), so a metric is renamed there too or not at all.

What is counted where:

- requests, by route *template* (never the raw path: ids would make a series each), method,
  status and the caller's office: ``RequestMetrics``, a pure ASGI middleware (no
  ``BaseHTTPMiddleware``: no task and no stream per request), whose label sets are cached;
- relay, projection and inbox lag: sampled when scraped (``lag.LagSampler``), at most once
  per interval however often ``/metrics`` is called;
- dead letters: ``DeadLetters.send``; sweeper runs: ``Sweeper.sweep_once``; SLA alarms: the
  tickets service's command that records them; four-eyes refusals: the problem handler that
  answers them (``note_refusal``); log-in failures and rate-limit refusals: the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared_kernel.errors import DomainError
from shared_kernel.four_eyes import FourEyesRefused

REGISTRY = CollectorRegistry(auto_describe=True)

# Where a request matched no route: one series for all of them, whatever the path.
UNMATCHED = "<unmatched>"
# The office of a request whose caller nobody vouched for (anonymous, refused before).
NO_OFFICE = "none"
# A client may send any method name: one series for all but the standard ones.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

HTTP_REQUESTS = Counter(
    "backoffice_http_requests",
    "HTTP requests answered, by route template, method, status and the caller's office",
    ["service", "route", "method", "status", "office"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "backoffice_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
RELAY_LAG = Gauge(
    "backoffice_relay_lag_positions",
    "Newest stored event position minus the newest position the relay published",
    ["service"],
    registry=REGISTRY,
)
PROJECTION_LAG = Gauge(
    "backoffice_projection_lag_messages",
    "Kafka end offset minus the projection's applied offset, per topic partition",
    ["service", "consumer", "topic", "partition"],
    registry=REGISTRY,
)
INBOX_LAG = Gauge(
    "backoffice_inbox_lag_messages",
    "Kafka end offset minus the inbox's handled offset, per topic partition",
    ["service", "consumer", "topic", "partition"],
    registry=REGISTRY,
)
RELAY_LEADER = Gauge(
    "backoffice_relay_leader",
    "1 in the one process of a service whose outbox relay holds the lock and publishes, 0 in "
    "its standbys (each replica of a service runs a relay; one leads)",
    ["service"],
    registry=REGISTRY,
)
UPSTREAM_REPLICA_UP = Gauge(
    "backoffice_upstream_replica_up",
    "Whether the gateway believes a replica of a service up (its /health/live answered, no "
    "connection refused since), by service behind it and replica number",
    ["service", "upstream", "replica", "address"],
    registry=REGISTRY,
)
LAG_SAMPLE_FAILURES = Counter(
    "backoffice_lag_sample_failures",
    "Scrapes whose lag sample failed (database or Kafka away): the lag gauges are stale",
    ["service"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "backoffice_dead_letters",
    "Records a projection or inbox could not handle and sent to the dead-letter topic",
    ["service", "consumer", "topic"],
    registry=REGISTRY,
)
GROUP_COMMITS = Counter(
    "backoffice_group_commits",
    "Transactions written by group commit (several commands' events in one COMMIT)",
    ["service"],
    registry=REGISTRY,
)
GROUP_COMMIT_COMMANDS = Counter(
    "backoffice_group_commit_commands",
    "Commands committed by group commit (divided by backoffice_group_commits: the mean group)",
    ["service"],
    registry=REGISTRY,
)
SWEEPER_RUNS = Counter(
    "backoffice_sweeper_runs",
    "Passes of a sweeper over its due candidates",
    ["service", "sweeper"],
    registry=REGISTRY,
)
SWEEPER_ACTIONS = Counter(
    "backoffice_sweeper_actions",
    "Candidates a sweeper acted on (a request expired, an alarm raised, ...)",
    ["service", "sweeper"],
    registry=REGISTRY,
)
SLA_ALARMS = Counter(
    "backoffice_sla_alarms",
    "SLA alarms recorded on tickets, by kind (warning or breach)",
    ["service", "kind"],
    registry=REGISTRY,
)
FOUR_EYES_REFUSALS = Counter(
    "backoffice_four_eyes_refusals",
    "Decisions refused by the four-eyes principle, by the refusal's code",
    ["service", "code"],
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    "backoffice_login_failures",
    "Refused log-ins, by reason (wrong credentials, disabled operator, ...)",
    ["service", "reason"],
    registry=REGISTRY,
)
RATE_LIMIT_REFUSALS = Counter(
    "backoffice_rate_limit_refusals",
    "Requests refused by a rate limit or a log-in lock-out, by limit",
    ["service", "limit"],
    registry=REGISTRY,
)


def metric_names(registry: CollectorRegistry = REGISTRY) -> frozenset[str]:
    """Every sample name the registry exposes (``_total``, ``_bucket``, ... included): what a
    dashboard query or an alert rule may name."""
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.update({f"{family.name}_total", f"{family.name}_created"})
        elif family.type == "histogram":
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count", "_created"))
    return frozenset(names)


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (set by the router), else
    ``UNMATCHED``: never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def caller_office(scope: Scope) -> str:
    """The office the identity dependency noted on the request (``note_office``)."""
    state = scope.get("state")
    office = state.get("office") if isinstance(state, dict) else None
    return office if isinstance(office, str) else NO_OFFICE


def note_office(request: Request, office: str) -> None:
    """Say which office the request's verified caller works for (read by ``RequestMetrics``)."""
    request.state.office = office


class RequestCounter:
    """Counts answered requests of one service and observes their durations; the label
    children are made once per combination and cached (no label tuple built per request)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._counters: dict[tuple[str, str, int, str], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    def observe(self, route: str, method: str, status: int, office: str, seconds: float) -> None:
        if method not in METHODS:
            method = OTHER_METHOD
        key = (route, method, status, office)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(
                self.service, route, method, str(status), office
            )
        counter.inc()
        timing = self._histograms.get((route, method))
        if timing is None:
            timing = self._histograms[(route, method)] = HTTP_DURATION.labels(
                self.service, route, method
            )
        timing.observe(seconds)


class RequestMetrics:
    """Counts every HTTP request and observes its duration, labelled by route template,
    method, status and office. A pure ASGI middleware: per request, a closure, two dict
    lookups and two increments."""

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        *,
        skip: frozenset[str] = frozenset({"/metrics"}),
    ) -> None:
        self.app = app
        self.requests = RequestCounter(service)
        self._skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._skip:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an app that raised before answering

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            self.requests.observe(
                route_template(scope),
                scope["method"],
                status,
                caller_office(scope),
                time.perf_counter() - started,
            )


def note_refusal(request: Request, refusal: DomainError) -> None:
    """Count a four-eyes refusal answered by the app (called by the problem handler)."""
    service = getattr(request.app.state, "metrics_service", None)
    if service is not None and isinstance(refusal, FourEyesRefused):
        FOUR_EYES_REFUSALS.labels(service, refusal.code or "FourEyes").inc()


def install_metrics(
    app: FastAPI,
    service: str,
    *,
    before_scrape: Callable[[], Awaitable[None]] | None = None,
    middleware: bool = True,
) -> None:
    """``GET /metrics`` (not in the API document, no login: no business data in it) and the
    request metrics middleware. ``before_scrape`` refreshes what is sampled at scrape time
    (the lags, see ``lag``); the gateway passes ``middleware=False`` and counts in its audit
    middleware, which knows the policy's route templates."""
    app.state.metrics_service = service
    if middleware:
        app.add_middleware(RequestMetrics, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if before_scrape is not None:
            await before_scrape()
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

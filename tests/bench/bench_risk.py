"""Risk (issue 6): the pre-deal check, at the service and through the gateway, and the heat
map over ``RISKS`` risks.

The risk service and the gateway run as real uvicorn processes (``bench_http.stack``: fresh
databases and topic namespace, relay, projections, inboxes and sweepers running, the
gateway's rate limit lifted).

- Pre-deal check: ``LIMITS`` limits (per counterparty, per desk, per counterparty on a desk)
  are requested by one risk officer and approved by another (four-eyes, over HTTP); then a
  trader asks ``POST /v1/pre-deal-checks`` for a counterparty on a desk (up to three limits
  each), ``PAIRS`` times straight to the service (identity signed the way the gateway signs
  it) and through the gateway, interleaved, one connection each: p50 and p99 (goals, issue
  14: p99 under 5 ms at the service, under 10 ms through the gateway).
- Heat map: ``RISKS`` risks (``risk.RiskIdentified``, a third with a control added) built with
  the risk domain and appended in bulk through the kernel's event store into the service's
  own database; once its relay and register projection have caught up,
  ``GET /v1/reports/heat-map`` ``REQUESTS`` times: p50 and p99.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bench_common import Report, Result, fill, percentile, read_model_caught_up
from bench_http import CpuMeter, Service, Signed, Skip, Stack, log_in, stack
from risk.bootstrap import risk_codec
from risk.domain.register import Control, RegisteredRisk, RegisterRules, RiskDetails
from risk.domain.scoring import Effectiveness, Reduces
from risk.projections.register_view import RegisterView
from shared_kernel.db import create_engine
from shared_kernel.eventstore import (
    NewEvent,
    PostgresEventStore,
    StreamAppend,
    new_event_id,
)
from shared_kernel.kafka import events_topic

COUNTERPARTIES = [f"CP-{n:03d}" for n in range(1, 41)]
DESKS = ["rates", "fx", "credit", "equities", "commodities"]
PAIRS = 500
WARM_UP_PAIRS = 50
RISKS = 10_000
REQUESTS = 100
CATCH_UP_TIMEOUT = 120.0
CATEGORIES = ("credit", "market", "liquidity", "operational", "it", "compliance")


@dataclass(frozen=True)
class LimitSpec:
    dimension: str
    counterparty: str | None
    desk: str | None
    amount: int  # minor units, EUR

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "dimension": self.dimension,
            "currency": "EUR",
            "amount": self.amount,
            "reason": "bench: credit line agreed",
        }
        if self.counterparty:
            body["counterparty"] = self.counterparty
        if self.desk:
            body["desk"] = self.desk
        return body


def limit_specs(rng: random.Random, per_counterparty: int) -> list[LimitSpec]:
    """A limit per counterparty (around ``per_counterparty``), per desk, and per counterparty
    on its main desk."""
    specs = [
        LimitSpec("counterparty", cp, None, int(per_counterparty * rng.uniform(0.6, 1.6)))
        for cp in COUNTERPARTIES
    ]
    specs += [LimitSpec("desk", None, desk, per_counterparty * 12) for desk in DESKS]
    specs += [
        LimitSpec("counterparty_desk", cp, DESKS[n % len(DESKS)], per_counterparty // 2)
        for n, cp in enumerate(COUNTERPARTIES[:15])
    ]
    return specs


def officers(running: Stack) -> tuple[Signed, Signed]:
    """Two different back-office risk officers: one requests, the other approves."""
    return (
        running.signed("risk", "operator:risk-officer", {"risk-officer"}),
        running.signed("risk", "operator:risk-officer-2", {"risk-officer"}),
    )


async def approved_limits(risk: Service, running: Stack, specs: list[LimitSpec]) -> int:
    """Requests every limit as one risk officer and approves it as another (four-eyes);
    returns the position of the last approval."""
    requester, approver = officers(running)
    position = 0
    async with httpx.AsyncClient(base_url=risk.url, timeout=30, trust_env=False) as http:
        for spec in specs:
            asked = await http.post(
                "/v1/limits",
                json=spec.body(),
                headers={**requester(), "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
            )
            if asked.status_code != 201:
                raise Skip(f"POST /v1/limits answered {asked.status_code}: {asked.text[:200]}")
            written = asked.json()
            approved = await http.post(
                f"/v1/limits/{written['id']}/approval",
                json={"reason": "bench: second pair of eyes"},
                headers={**approver(), "If-Match": str(written["version"])},
            )
            if approved.status_code != 200:
                raise Skip(
                    f"POST /v1/limits/{{id}}/approval answered {approved.status_code}: "
                    f"{approved.text[:200]}"
                )
            position = max(position, int(approved.json()["position"]))
    return position


def deal(number: int) -> dict[str, Any]:
    return {
        "counterparty": COUNTERPARTIES[number % len(COUNTERPARTIES)],
        "desk": DESKS[number % len(DESKS)],
        "currency": "EUR",
        "amount": 1_000_00 + (number % 97) * 10_000_00,
    }


async def check_deal(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], number: int
) -> float:
    """Seconds one pre-deal check took."""
    started = time.perf_counter()
    answer = await http.post(path, json=deal(number), headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise Skip(f"POST {path} answered {answer.status_code}: {answer.text[:200]}")
    return elapsed


async def pre_deal_latencies(
    risk: Service, gateway: Service | None, direct: Signed, bearer: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Seconds per check, straight and through the gateway (when there is one), interleaved
    so that drift in the machine's load hits both alike."""
    limits = httpx.Limits(max_connections=1)
    straight: list[float] = []
    via: list[float] = []
    async with (
        httpx.AsyncClient(base_url=risk.url, limits=limits, trust_env=False) as to_risk,
        httpx.AsyncClient(
            base_url=gateway.url if gateway else risk.url, limits=limits, trust_env=False
        ) as to_gateway,
    ):
        for number in range(WARM_UP_PAIRS + PAIRS):
            # Alternate which goes first, so that neither always finds a warmer cache.
            first_direct = number % 2 == 0 or gateway is None
            if first_direct:
                d = await check_deal(to_risk, "/v1/pre-deal-checks", direct(), number)
            g = (
                await check_deal(to_gateway, "/risk/v1/pre-deal-checks", bearer, number)
                if gateway
                else 0.0
            )
            if not first_direct:
                d = await check_deal(to_risk, "/v1/pre-deal-checks", direct(), number)
            if number >= WARM_UP_PAIRS:
                straight.append(d)
                via.append(g)
    return straight, via


async def pre_deal(report: Report, running: Stack) -> None:
    risk, gateway = running.services["risk"], running.gateway
    specs = limit_specs(random.Random(11), 2_000_000_000_00)
    started = time.perf_counter()
    position = await approved_limits(risk, running, specs)
    trader = running.signed("risk", "operator:trader", {"trader"}, office="front")
    async with httpx.AsyncClient(base_url=risk.url, timeout=30, trust_env=False) as http:
        first = await http.post(
            "/v1/pre-deal-checks",
            json=deal(0),
            params={"min_position": position, "wait_ms": 10_000},
            headers=trader(),
        )
    if first.status_code != 200 or not first.json().get("limits"):
        raise Skip(f"the first pre-deal check answered {first.status_code}: {first.text[:300]}")
    report.note(
        f"setup: {len(specs)} limits requested and approved (four-eyes) over HTTP and visible "
        f"in {time.perf_counter() - started:.1f}s; a check for a counterparty on a desk touches "
        f"{len(first.json()['limits'])} limits"
    )
    reason = running.reason
    bearer: dict[str, str] = {}
    if gateway is not None:
        try:
            bearer = await log_in(gateway, "trader")
        except Skip as exc:
            reason = str(exc)
    front = gateway if bearer else None
    meters = [CpuMeter(service) for service in (risk, front) if service is not None]
    for meter in meters:
        await meter.idle()
        meter.start()
    straight, via = await pre_deal_latencies(risk, front, trader, bearer)
    used = [meter.per_request(WARM_UP_PAIRS + PAIRS) for meter in meters]
    service_p99 = percentile(straight, 99) * 1000
    for label, times, figure in (
        ("at the service", straight, "pre-deal-service"),
        ("via gateway", via if bearer else [], "pre-deal-gateway"),
    ):
        if not times:
            report.say(f"pre-deal check via gateway skipped: {reason}")
            continue
        p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
        via_gateway = figure == "pre-deal-gateway"
        report.add(
            Result(
                name=f"pre-deal check p99, {label}",
                value=p99,
                unit="ms",
                decimals=1,
                detail=f"(p50 {p50:.1f} ms, {PAIRS} checks, interleaved)",
                baseline_name="at the service" if via_gateway else "",
                baseline_value=service_p99 if via_gateway else None,
                figure=figure,
            )
        )
    report.say(f"    process CPU per check pair (one direct, one via gateway): {', '.join(used)}")
    if running.policy_note:
        report.note(running.policy_note)


# ---------------------------------------------------------------------------------------------
# Heat map


def risk_appends(count: int) -> Iterator[StreamAppend]:
    """``count`` risks identified through the register domain as the command does (a third
    with a control added), encoded with the risk codec."""
    codec = risk_codec()
    rules = RegisterRules()
    rng = random.Random(3)
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for number in range(count):
        at = now - timedelta(days=rng.uniform(0, 700))
        category = CATEGORIES[number % len(CATEGORIES)]
        risk = RegisteredRisk.identify(
            str(new_event_id()),
            RiskDetails(
                title=f"{category.title()} risk {number}: key supplier fails",
                description="Identified in the annual risk workshop.",
                category=category,
                owner=f"operator:owner-{number % 60:02d}",
            ),
            rng.randint(1, 5),
            rng.randint(1, 5),
            rules,
            by="operator:risk-officer",
            at=at,
        )
        if number % 3 == 0:
            risk.add_control(
                Control(
                    control_id=str(uuid.uuid4()),
                    name="Dual control",
                    description="Every change is checked by a second person.",
                    effectiveness=rng.choice(list(Effectiveness)),
                    reduces=rng.choice(list(Reduces)),
                ),
                "control in place",
                rules,
                by="operator:risk-officer",
                at=at + timedelta(days=1),
            )
        yield StreamAppend(
            risk.id,
            RegisteredRisk.stream_type,
            0,
            [NewEvent(e.event_type, e.version, codec.encode(e)) for e in risk.pending_events()],
        )


async def heat_map(report: Report, running: Stack) -> None:
    risk = running.services["risk"]
    url, ns = risk.env["RISK_DATABASE_URL"], risk.env["TOPIC_NAMESPACE"]
    engine = create_engine(url)
    view = RegisterView(ns)
    try:
        started = time.perf_counter()
        events = await fill(engine, PostgresEventStore(source="/risk"), risk_appends(RISKS))
        appended = time.perf_counter() - started
        caught_up = await read_model_caught_up(
            engine, view, events_topic("risk", ns), CATCH_UP_TIMEOUT
        )
        waited = time.perf_counter() - started - appended
    finally:
        await engine.dispose()
    report.note(
        f"setup: {RISKS:,} risks ({events:,} events) appended in {appended:.1f}s; relay and "
        f"register projection caught up {waited:.1f}s later"
    )
    if not caught_up:
        report.say(
            f"heat map skipped: the register view did not catch up within {CATCH_UP_TIMEOUT:.0f}s"
        )
        return
    reader = running.signed("risk", "operator:risk-officer", {"risk-officer"})
    times: list[float] = []
    total = 0
    async with httpx.AsyncClient(
        base_url=risk.url, timeout=30, limits=httpx.Limits(max_connections=1), trust_env=False
    ) as http:
        for number in range(10 + REQUESTS):
            sent = time.perf_counter()
            answer = await http.get("/v1/reports/heat-map", headers=reader())
            elapsed = time.perf_counter() - sent
            if answer.status_code != 200:
                raise Skip(f"GET /v1/reports/heat-map answered {answer.status_code}")
            total = int(answer.json()["total"])
            if number >= 10:
                times.append(elapsed)
    p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
    report.add(
        Result(
            name=f"heat map over {total:,} risks, p50",
            value=p50,
            unit="ms",
            decimals=1,
            detail=f"(p99 {p99:.1f} ms, {REQUESTS} sequential requests at the service)",
        )
    )
    if total != RISKS:
        report.say(f"    WARNING: the heat map counts {total:,} open risks, {RISKS:,} were filled")


async def run(report: Report) -> None:
    try:
        async with stack(["risk"]) as running:
            try:
                await pre_deal(report, running)
            except Skip as exc:
                report.say(f"pre-deal check benchmark skipped: {exc}")
            await heat_map(report, running)
    except Skip as exc:
        report.say(f"risk benchmark skipped: {exc}")

"""What the gateway adds to a read: GET one account through the gateway against the same GET
straight to the ledger (with an identity signed the way the gateway signs it), in one run.

The ledger and the gateway run as real uvicorn processes (``bench_http.services``: fresh
databases, fresh topic namespace, the gateway's per-identity rate limit lifted).

- Latency: one client, one connection each way, direct and gateway requests interleaved (so
  that drift in the machine's load hits both alike); the added latency is the gateway's
  percentile minus the direct percentile, at p50 and p99. Goal (issue 14): p50 under 1 ms.
- Throughput: ``CLIENTS`` concurrent clients, each with its own connection, for ``DURATION``
  seconds, direct and through the gateway in alternating rounds. Target: the gateway carries
  at least 60 % of the direct rate.
- CPU per request: the CPU time (user + system, /proc/<pid>/stat) each server process used
  over the throughput rounds, divided by the requests served in them: the ledger's in the
  direct rounds (a simple read; goal at most 1.5 ms), the gateway's in the gateway rounds
  (goal at most 1 ms; the ledger's in the same rounds beside it). Background loops (relay,
  projections, audit) are included: an upper bound.

The direct identity is signed once per ``Signed.resign_seconds``, not per request: the client's
signing is not the gateway's overhead. The gateway's own work per request (verify the token,
confirm the caller, rate limit, policy, sign the forwarded identity, audit record, the second
HTTP hop) is exactly what is measured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from bench_common import Report, Result, percentile
from bench_figures import Goal
from bench_http import Service, Signed, Skip, cpu_seconds, log_in, open_accounts, services
from shared_kernel.identity import IdentitySigner

PAIRS = 1000  # interleaved direct/gateway requests for the latency figures
PAIRS_BUDGET = 45.0  # seconds; on a busy machine fewer pairs are measured (the count is shown)
WARM_UP_PAIRS = 100
CLIENTS = 16
DURATION = 8.0  # seconds per throughput round
ROUNDS = 2  # direct, gateway, direct, gateway
THROUGHPUT_TARGET = 0.6


async def get(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = await http.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
    return elapsed


async def latencies(
    ledger: Service, gateway: Service, account: str, direct: Signed, bearer: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Seconds per request, direct and through the gateway, measured pairwise."""
    limits = httpx.Limits(max_connections=1)
    async with (
        httpx.AsyncClient(base_url=ledger.url, limits=limits, trust_env=False) as to_ledger,
        httpx.AsyncClient(base_url=gateway.url, limits=limits, trust_env=False) as to_gateway,
    ):
        direct_times: list[float] = []
        gateway_times: list[float] = []
        stop_at = time.perf_counter() + PAIRS_BUDGET
        for number in range(WARM_UP_PAIRS + PAIRS):
            if time.perf_counter() > stop_at and len(direct_times) >= 100:
                break
            # Alternate which goes first, so that neither always finds a warmer cache.
            first_direct = number % 2 == 0
            if first_direct:
                d = await get(to_ledger, f"/v1/accounts/{account}", direct())
            g = await get(to_gateway, f"/ledger/v1/accounts/{account}", bearer)
            if not first_direct:
                d = await get(to_ledger, f"/v1/accounts/{account}", direct())
            if number >= WARM_UP_PAIRS:
                direct_times.append(d)
                gateway_times.append(g)
    return direct_times, gateway_times


async def throughput(
    url: str, path: str, headers: Callable[[], dict[str, str]]
) -> tuple[float, int]:
    """Successful GETs per second with CLIENTS clients for DURATION seconds, and their count."""
    done = 0
    deadline = time.perf_counter() + DURATION

    async def client() -> None:
        nonlocal done
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, trust_env=False) as http:
            while time.perf_counter() < deadline:
                answer = await http.get(path, headers=headers())
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {answer.status_code}")
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done / (time.perf_counter() - started), done


async def run(report: Report) -> None:
    try:
        async with services() as (gateway, ledger, signer, reason):
            if gateway is None:
                report.say(f"gateway overhead skipped, the gateway does not run: {reason}")
                return
            await measure(report, gateway, ledger, signer)
    except Skip as exc:
        report.say(f"gateway overhead skipped: {exc}")


async def measure(
    report: Report, gateway: Service, ledger: Service, signer: IdentitySigner
) -> None:
    bearer = await log_in(gateway)
    account, _ = await open_accounts(gateway, ledger, bearer)
    direct = Signed(signer)

    cpu_before = cpu_seconds(gateway), cpu_seconds(ledger)
    direct_times, gateway_times = await latencies(ledger, gateway, account, direct, bearer)
    cpu_after = cpu_seconds(gateway), cpu_seconds(ledger)
    for p in (50, 99):
        via, straight = percentile(gateway_times, p) * 1000, percentile(direct_times, p) * 1000
        report.add(
            Result(
                name=f"GET one account, p{p} added by the gateway",
                value=via - straight,
                unit="ms",
                decimals=2,
                detail=f"(via gateway {via:.2f} ms, {len(direct_times)} interleaved pairs)",
                baseline_name="ledger direct",
                baseline_value=straight,
                figure="gateway-added-p50" if p == 50 else "",
            )
        )
    pairwise = percentile([g - d for g, d in zip(gateway_times, direct_times, strict=True)], 50)
    report.note(f"median of the per-pair differences: {pairwise * 1000:.2f} ms")
    used = [
        (after - before) / (WARM_UP_PAIRS + len(direct_times)) * 1000
        for before, after in zip(cpu_before, cpu_after, strict=True)
        if before is not None and after is not None
    ]
    if len(used) == 2:
        # CPU time does not grow with the machine's load as latency does. Background loops
        # (relays, projections, audit) are included, so this is an upper bound.
        report.say(
            f"    process CPU per pair (one direct, one via gateway): gateway {used[0]:.2f} ms, "
            f"ledger {used[1]:.2f} ms (both requests), background loops included"
        )

    rates: dict[str, list[float]] = {"direct": [], "gateway": []}
    served = {"direct": 0, "gateway": 0}
    # CPU seconds over the rounds: the ledger's in direct rounds; gateway's, ledger's in others.
    cpu = {"read": 0.0, "gateway": 0.0, "behind": 0.0}
    for _ in range(ROUNDS):
        before = cpu_seconds(ledger) or 0.0
        rate, count = await throughput(ledger.url, f"/v1/accounts/{account}", direct)
        cpu["read"] += (cpu_seconds(ledger) or 0.0) - before
        rates["direct"].append(rate)
        served["direct"] += count
        before, behind = cpu_seconds(gateway) or 0.0, cpu_seconds(ledger) or 0.0
        rate, count = await throughput(
            gateway.url, f"/ledger/v1/accounts/{account}", lambda: bearer
        )
        cpu["gateway"] += (cpu_seconds(gateway) or 0.0) - before
        cpu["behind"] += (cpu_seconds(ledger) or 0.0) - behind
        rates["gateway"].append(rate)
        served["gateway"] += count
    through, baseline = (sum(r) / len(r) for r in (rates["gateway"], rates["direct"]))
    report.add(
        Result(
            name=f"GET one account via gateway ({CLIENTS} clients)",
            value=through,
            unit="req/s",
            detail=f"rounds {', '.join(f'{r:,.0f}' for r in rates['gateway'])}",
            baseline_name="ledger direct",
            baseline_value=baseline,
            baseline_detail=f"rounds {', '.join(f'{r:,.0f}' for r in rates['direct'])}",
            goal=Goal.ratio(THROUGHPUT_TARGET),
        )
    )
    if cpu_seconds(gateway) is not None and served["direct"] and served["gateway"]:
        read_ms = cpu["read"] / served["direct"] * 1000
        report.add(
            Result(
                name="CPU per request, gateway, GET one account",
                value=cpu["gateway"] / served["gateway"] * 1000,
                unit="ms",
                decimals=2,
                detail=f"({served['gateway']:,} requests via gateway, {CLIENTS} clients)",
                baseline_name="the ledger behind it",
                baseline_value=cpu["behind"] / served["gateway"] * 1000,
                figure="cpu-gateway",
            )
        )
        report.add(
            Result(
                name="CPU per request, ledger, GET one account",
                value=read_ms,
                unit="ms",
                decimals=2,
                detail=f"({served['direct']:,} requests direct, {CLIENTS} clients)",
                figure="cpu-read",
            )
        )
    report.note(
        "uvicorn, 1 worker each, on this machine together with PostgreSQL, Kafka and the "
        "clients; the gateway writes one audit record per request (to Kafka, batched)"
    )

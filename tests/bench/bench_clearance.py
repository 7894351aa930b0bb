"""Deal clearance (issue 12): how long from a trader's booking request to risk's answer.

The ledger and risk run as real uvicorn processes (one worker each, as ``make run`` starts
them) on fresh databases and a fresh topic namespace. A desk limit large enough for every deal
is set up by two risk officers (four eyes). Each deal is a booking request posted straight to
the ledger with a front-office identity signed the way the gateway signs it; it names one of
50 counterparties on the limit's desk, so it is a deal that risk must clear.

- Latency: deals at a steady 20/s for 20 s (open loop: sent on schedule whatever the answers);
  submission -> cleared is from sending the request to ``risk.DealCleared`` arriving on the
  risk topic (outbox -> Kafka -> risk's inbox -> outbox -> Kafka: the whole path).
- Saturation: 32 clients submit back to back for 15 s; the cleared-deal throughput is the
  number of ``DealCleared`` per second from the first submission to the last answer, beside
  the submission rate the ledger accepted (the baseline: can risk keep up with the ledger?).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from bench_common import Report, Result, kafka_bootstrap, percentile
from bench_figures import Goal
from bench_http import Service, Stack, stack
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner
from shared_kernel.roles import Office, Role

RATE = 20.0
STEADY_SECONDS = 20.0
SATURATION_SECONDS = 15.0
CLIENTS = 32
COUNTERPARTIES = 50
TARGET_P99_MS = 500.0


@dataclass
class Clearances:
    """Sent times by request id and the arrival time of each ``risk.DealCleared``."""

    sent: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)  # the submission on the ledger topic
    cleared: dict[str, float] = field(default_factory=dict)
    # Wall-clock times: the ledger's and risk's commits (the events' own time), the arrival.
    submitted_at: dict[str, float] = field(default_factory=dict)
    decided_at: dict[str, float] = field(default_factory=dict)
    arrived_at: dict[str, float] = field(default_factory=dict)
    refused: int = 0

    def latencies_ms(self, ids: set[str]) -> list[float]:
        return [(self.cleared[i] - self.sent[i]) * 1000 for i in ids if i in self.cleared]

    def breakdown(self, ids: set[str]) -> str:
        """Median of each leg: submitted -> on the ledger topic -> cleared on the risk topic."""
        both = [i for i in ids if i in self.cleared and i in self.published]
        ledger = [(self.published[i] - self.sent[i]) * 1000 for i in both]
        risk = [(self.cleared[i] - self.published[i]) * 1000 for i in both]
        inbox = [
            (self.decided_at[i] - self.submitted_at[i]) * 1000
            for i in both
            if i in self.decided_at and i in self.submitted_at
        ]
        relay = [
            (self.arrived_at[i] - self.decided_at[i]) * 1000
            for i in both
            if i in self.decided_at and i in self.arrived_at
        ]
        return (
            f"median legs: request -> ledger.events {percentile(ledger, 50):.0f} ms "
            f"(p99 {percentile(ledger, 99):.0f}), ledger.events -> DealCleared on risk.events "
            f"{percentile(risk, 50):.0f} ms (p99 {percentile(risk, 99):.0f}): ledger commit -> "
            f"risk commit {percentile(inbox, 50):.0f} ms (p99 {percentile(inbox, 99):.0f}), "
            f"risk commit -> here {percentile(relay, 50):.0f} ms (p99 {percentile(relay, 99):.0f})"
        )


def signed(signer: IdentitySigner, audience: str, subject: str, role: Role, office: Office) -> str:
    caller = Caller(subject, frozenset({role}), office, request_id=str(uuid.uuid4()))
    return signer.sign(caller, audience=audience)


def deal_body(accounts: tuple[str, str], number: int) -> dict[str, Any]:
    amount = 1000 + number % 9000
    return {
        "voucher_number": f"DEAL-{number:08d}-{uuid.uuid4().hex[:6]}",
        "booking_date": time.strftime("%Y-%m-%d", time.gmtime()),
        "text": "Bench deal",
        "metadata": {"counterparty": f"CP-{number % COUNTERPARTIES:03d}", "desk": "bench"},
        "lines": [
            {"account_id": accounts[0], "side": "debit", "amount": amount, "currency": "EUR"},
            {"account_id": accounts[1], "side": "credit", "amount": amount, "currency": "EUR"},
        ],
    }


async def prepare(running: Stack) -> tuple[str, str]:
    """Two accounts (an accountant) and a desk limit (two risk officers); the account ids."""
    ledger, risk, signer = running.services["ledger"], running.services["risk"], running.signer
    accountant = {
        IDENTITY_HEADER: signed(
            signer, "ledger", "operator:accountant", Role.ACCOUNTANT, Office.BACK
        )
    }
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=ledger.url, timeout=30, trust_env=False) as http:
        for code, kind in [("1400", "asset"), ("8400", "revenue")]:
            answer = await http.post(
                "/v1/accounts",
                json={
                    "code": code,
                    "name": f"Bench {code}",
                    "account_type": kind,
                    "currency": "EUR",
                },
                headers=accountant,
            )
            answer.raise_for_status()
            ids.append(answer.json()["id"])
    async with httpx.AsyncClient(base_url=risk.url, timeout=30, trust_env=False) as http:
        requested = await http.post(
            "/v1/limits",
            json={"dimension": "desk", "desk": "bench", "currency": "EUR", "amount": 10**15},
            headers={
                IDENTITY_HEADER: signed(
                    signer, "risk", "operator:risk-officer", Role.RISK_OFFICER, Office.BACK
                )
            },
        )
        requested.raise_for_status()
        approved = await http.post(
            f"/v1/limits/{requested.json()['id']}/approval",
            json={},
            headers={
                IDENTITY_HEADER: signed(
                    signer, "risk", "operator:risk-officer-2", Role.RISK_OFFICER, Office.BACK
                )
            },
        )
        approved.raise_for_status()
    return ids[0], ids[1]


@contextlib.asynccontextmanager
async def listening(risk: Service, clearances: Clearances) -> AsyncIterator[None]:
    """Record the arrival of every deal answer on risk's topic while the block runs."""
    namespace = risk.env.get("TOPIC_NAMESPACE", "")
    consumer = AIOKafkaConsumer(
        f"{namespace}risk.events",
        f"{namespace}ledger.events",
        bootstrap_servers=kafka_bootstrap(),
        auto_offset_reset="earliest",
    )
    await consumer.start()

    async def consume() -> None:
        async for record in consumer:
            event = json.loads(record.value or b"{}")
            kind = str(event.get("type", ""))
            request_id = str(event.get("data", {}).get("request_id", ""))
            at = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
            if kind.startswith("ledger.BookingRequestSubmitted."):
                clearances.published.setdefault(request_id, time.perf_counter())
                clearances.submitted_at.setdefault(request_id, at.timestamp())
            elif kind.startswith("risk.DealCleared."):
                clearances.cleared.setdefault(request_id, time.perf_counter())
                clearances.decided_at.setdefault(request_id, at.timestamp())
                clearances.arrived_at.setdefault(request_id, time.time())
            elif kind.startswith("risk.DealRefused."):
                clearances.refused += 1

    task = asyncio.create_task(consume())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


async def submit(
    http: httpx.AsyncClient,
    signer: IdentitySigner,
    accounts: tuple[str, str],
    number: int,
    clearances: Clearances,
) -> str | None:
    headers = {
        IDENTITY_HEADER: signed(signer, "ledger", "operator:trader", Role.TRADER, Office.FRONT)
    }
    sent = time.perf_counter()
    answer = await http.post(
        "/v1/booking-requests", json=deal_body(accounts, number), headers=headers
    )
    if answer.status_code != 201:
        return None
    request_id = str(answer.json()["id"])
    clearances.sent[request_id] = sent
    return request_id


async def steady(running: Stack, accounts: tuple[str, str], clearances: Clearances) -> set[str]:
    """``RATE`` deals per second for ``STEADY_SECONDS``, each sent on schedule."""
    ledger = running.services["ledger"]
    ids: set[str] = set()
    async with httpx.AsyncClient(base_url=ledger.url, timeout=30, trust_env=False) as http:
        started = time.perf_counter()
        tasks = []
        for n in range(int(RATE * STEADY_SECONDS)):
            await asyncio.sleep(max(0.0, started + n / RATE - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(http, running.signer, accounts, n, clearances)))
        ids = {i for i in await asyncio.gather(*tasks) if i}
    await answered(clearances, ids, 30.0)
    return ids


async def saturate(
    running: Stack, accounts: tuple[str, str], clearances: Clearances
) -> tuple[set[str], float, float]:
    """``CLIENTS`` clients back to back: (ids, submission seconds, seconds to last answer)."""
    ledger = running.services["ledger"]
    ids: set[str] = set()
    counter = iter(range(10**6, 10**9))
    started = time.perf_counter()
    deadline = started + SATURATION_SECONDS

    async def client() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=ledger.url, timeout=30, limits=limits, trust_env=False
        ) as http:
            while time.perf_counter() < deadline:
                request_id = await submit(http, running.signer, accounts, next(counter), clearances)
                if request_id:
                    ids.add(request_id)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    submitted = time.perf_counter() - started
    await answered(clearances, ids, 120.0)
    last = max((clearances.cleared[i] for i in ids if i in clearances.cleared), default=started)
    return ids, submitted, last - started


async def answered(clearances: Clearances, ids: set[str], timeout: float) -> None:
    """Wait until every deal of ``ids`` is cleared, or ``timeout`` seconds."""
    until = time.perf_counter() + timeout
    while time.perf_counter() < until:
        if ids <= clearances.cleared.keys():
            return
        await asyncio.sleep(0.1)


async def run(report: Report) -> None:
    clearances = Clearances()
    async with stack(["ledger", "risk"], gateway=False) as running:
        accounts = await prepare(running)
        async with listening(running.services["risk"], clearances):
            steady_ids = await steady(running, accounts, clearances)
            load = os.getloadavg()
            latencies = clearances.latencies_ms(steady_ids)
            missing = len(steady_ids) - len(latencies)
            report.add(
                Result(
                    f"deal submitted -> cleared, p99 at {RATE:.0f}/s",
                    percentile(latencies, 99),
                    "ms",
                    baseline_name="p50",
                    baseline_value=percentile(latencies, 50),
                    goal=Goal.under(TARGET_P99_MS),
                    notes=[
                        f"{len(steady_ids)} deals in {STEADY_SECONDS:.0f} s, {len(latencies)} "
                        f"cleared, {missing} not answered in 30 s, {clearances.refused} refused; "
                        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
                        f"on {os.cpu_count()} CPUs",
                        clearances.breakdown(steady_ids),
                    ],
                )
            )
            ids, submit_s, answer_s = await saturate(running, accounts, clearances)
            cleared = len([i for i in ids if i in clearances.cleared])
            load = os.getloadavg()
            report.add(
                Result(
                    "cleared deals at saturation",
                    cleared / answer_s if answer_s else 0.0,
                    "deals/s",
                    baseline_name="submitted",
                    baseline_value=len(ids) / submit_s if submit_s else None,
                    notes=[
                        f"{CLIENTS} clients for {SATURATION_SECONDS:.0f} s: {len(ids)} submitted, "
                        f"{cleared} cleared, last answer {answer_s:.1f} s after the first "
                        f"submission; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
                    ],
                )
            )

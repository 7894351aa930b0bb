"""Journal entries over HTTP with 32 concurrent clients: through the gateway, and (the
baseline) straight to the ledger with an identity header signed the way the gateway signs it.

The ledger and the gateway run as real uvicorn processes (one worker each, as ``make run``
starts them) on fresh databases of the bench server and a fresh topic namespace, with their
outbox relays and projections running. Every request posts a balanced two-line entry with its
own ``Idempotency-Key``. Latencies are of successful (201) requests, measured in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench_common import PY, ROOT, Report, Result, create_database, kafka_bootstrap, namespace
from shared_kernel.identity import (
    IDENTITY_HEADER,
    Identity,
    IdentitySigner,
    ensure_keypair,
    key_id_of,
)

CLIENTS = 32
DURATION = 15.0
WARM_UP = 2.0
START_TIMEOUT = 90.0


class Skip(Exception):
    """The gateway (or the ledger) cannot be run; the reason is printed."""


@dataclass
class Service:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        """The last line of its output: the exception, when it crashed."""
        text = self.log.read_text(errors="replace").strip().splitlines()
        return text[-1] if text else "(no output)"


@dataclass
class Load:
    """What one load run measured."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def detail(self) -> str:
        return f"p50 {self.percentile(50):.0f} ms p99 {self.percentile(99):.0f} ms"

    def failure_note(self, label: str) -> str | None:
        if not self.failures:
            return None
        shown = ", ".join(f"{n} x {what}" for what, n in self.failures.most_common(3))
        return f"WARNING {label}: {sum(self.failures.values())} failed requests ({shown})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def command(args: list[str], env: dict[str, str], what: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        lines = output.decode(errors="replace").strip().splitlines()
        raise Skip(f"{what} exited with {process.returncode}: {lines[-1] if lines else ''}")


async def start_service(name: str, env: dict[str, str], logs: Path) -> Service:
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            "uvicorn",
            "--factory",
            f"{name}.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    service = Service(name, port, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise Skip(f"{name} exited with {process.returncode}: {service.tail()}")
            try:
                # uvicorn accepts connections only once the lifespan has started the service:
                # any answer (the gateway has no /health of its own) means it is up.
                await http.get(f"{service.url}/health")
                return service
            except httpx.TransportError:
                await asyncio.sleep(0.3)
    await stop(service)
    raise Skip(f"{name} did not answer within {START_TIMEOUT:.0f}s: {service.tail()}")


async def stop(service: Service) -> None:
    if service.process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        service.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(service.process.wait(), timeout=20)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            service.process.kill()
        await service.process.wait()


def entry_body(debit: str, credit: str, number: int) -> dict[str, Any]:
    amount = 1000 + number % 9000
    return {
        "voucher_number": f"BENCH-{number:08d}",
        "booking_date": "2026-11-26",
        "text": "Bench entry",
        "lines": [
            {"account_id": debit, "side": "debit", "amount": amount, "currency": "EUR"},
            {"account_id": credit, "side": "credit", "amount": amount, "currency": "EUR"},
        ],
    }


async def load(
    url: str,
    path: str,
    headers: Callable[[], dict[str, str]],
    accounts: tuple[str, str],
    seconds: float,
) -> Load:
    """``CLIENTS`` clients, each with its own connection, post entries back to back."""
    result = Load()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=url, timeout=30, limits=limits, trust_env=False
        ) as http:
            while time.perf_counter() < deadline:
                number = next(counter)
                sent = time.perf_counter()
                try:
                    answer = await http.post(
                        path,
                        json=entry_body(*accounts, number),
                        headers={**headers(), "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
                    )
                except httpx.HTTPError as exc:
                    result.failures[type(exc).__name__] += 1
                    continue
                if answer.status_code == 201:
                    result.latencies.append(time.perf_counter() - sent)
                else:
                    result.failures[f"{answer.status_code} {answer.text[:120]}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    result.seconds = time.perf_counter() - started
    return result


@contextlib.asynccontextmanager
async def services() -> AsyncIterator[tuple[Service | None, Service, IdentitySigner, str]]:
    """Ledger and gateway on fresh databases; yields (gateway or None, ledger, signer, why the
    gateway is missing)."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        private, public = ensure_keypair(Path(tmp) / "keys")
        signer = IdentitySigner(private.read_bytes(), key_id_of(public.read_bytes()))
        common = {
            **os.environ,
            "ENVIRONMENT": "development",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap(),
            "TOPIC_NAMESPACE": namespace(),
            "IDENTITY_PUBLIC_KEY_FILE": str(public),
            "IDENTITY_PRIVATE_KEY_FILE": str(private),
            "LOG_LEVEL": "WARNING",
        }
        ledger_env = {**common, "DATABASE_URL": await create_database("ledger", migrate=False)}
        await command([PY, "-m", "ledger", "migrate"], ledger_env, "python -m ledger migrate")
        ledger = await start_service("ledger", ledger_env, Path(tmp))
        gateway: Service | None = None
        reason = ""
        try:
            try:
                gateway_env = {
                    **common,
                    "DATABASE_URL": await create_database("gateway", migrate=False),
                    "GATEWAY_SERVICES": json.dumps({"ledger": ledger.url}),
                    # All 32 clients are one operator: measure throughput, not the per-identity
                    # rate limit (100/s by default).
                    "RATE_LIMIT_PER_SECOND": "1000000",
                    "RATE_LIMIT_BURST": "1000000",
                }
                await command(
                    [PY, "-m", "gateway", "migrate"], gateway_env, "python -m gateway migrate"
                )
                await command(
                    [PY, "-m", "gateway", "seed-demo"], gateway_env, "python -m gateway seed-demo"
                )
                gateway = await start_service("gateway", gateway_env, Path(tmp))
            except Skip as exc:
                reason = str(exc)
            yield gateway, ledger, signer, reason
        finally:
            if gateway is not None:
                await stop(gateway)
            await stop(ledger)


async def run(report: Report) -> None:
    try:
        await run_load(report)
    except Skip as exc:
        report.say(f"journal entries benchmark skipped, the ledger does not run: {exc}")


async def run_load(report: Report) -> None:
    async with services() as (gateway, ledger, signer, reason):

        def signed() -> dict[str, str]:
            identity = Identity(
                subject="operator:accountant",
                roles=frozenset({"accountant"}),
                office="back",
                request_id=str(uuid.uuid4()),
            )
            return {IDENTITY_HEADER: signer.sign(identity, audience="ledger")}

        bearer: dict[str, str] = {}
        if gateway is not None:
            try:
                bearer = await log_in(gateway)
            except Skip as exc:
                reason = str(exc)
        accounts = await open_accounts(gateway if bearer else None, ledger, bearer or signed())

        direct_path, gateway_path = "/v1/journal-entries", "/ledger/v1/journal-entries"
        await load(ledger.url, direct_path, signed, accounts, WARM_UP)
        direct = await load(ledger.url, direct_path, signed, accounts, DURATION)
        through: Load | None = None
        if bearer:
            assert gateway is not None
            await load(gateway.url, gateway_path, lambda: bearer, accounts, WARM_UP)
            through = await load(gateway.url, gateway_path, lambda: bearer, accounts, DURATION)

        clients = f"{CLIENTS} clients, {DURATION:.0f}s"
        if through is None:
            report.say(f"gateway benchmark skipped: {reason}")
            report.add(
                Result(
                    name=f"journal entries, ledger direct ({clients})",
                    value=direct.rate,
                    unit="entries/s",
                    detail=direct.detail(),
                )
            )
            notes = [direct.failure_note("ledger direct")]
        else:
            report.add(
                Result(
                    name=f"journal entries via gateway ({clients})",
                    value=through.rate,
                    unit="entries/s",
                    detail=through.detail(),
                    baseline_name="ledger direct",
                    baseline_value=direct.rate,
                    baseline_detail=direct.detail(),
                )
            )
            notes = [through.failure_note("via gateway"), direct.failure_note("ledger direct")]
        for note in notes:
            if note:
                report.say(f"    {note}")
        report.note(
            "uvicorn, 1 worker each, asyncio loop + h11 (no uvloop/httptools installed); "
            "relay and projection running in the ledger; gateway rate limit lifted; "
            "clients in this process"
        )


async def log_in(gateway: Service) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30, trust_env=False) as http:
        answer = await http.post(
            "/auth/login", json={"username": "accountant", "password": "demo-accountant"}
        )
    if answer.status_code != 200:
        raise Skip(f"log-in as accountant answered {answer.status_code}: {answer.text[:200]}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def open_accounts(
    gateway: Service | None, ledger: Service, headers: dict[str, str]
) -> tuple[str, str]:
    """Opens 1200 Bank and 8400 Revenue, through the gateway when there is one."""
    base, prefix = (gateway.url, "/ledger") if gateway else (ledger.url, "")
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as http:
        for code, name, kind in [("1200", "Bank", "asset"), ("8400", "Revenue", "revenue")]:
            answer = await http.post(
                f"{prefix}/v1/accounts",
                json={"code": code, "name": name, "account_type": kind, "currency": "EUR"},
                headers=headers,
            )
            if answer.status_code != 201:
                raise RuntimeError(f"opening account {code}: {answer.status_code} {answer.text}")
            ids.append(answer.json()["id"])
    return ids[0], ids[1]

"""Journal entries over HTTP with 32 concurrent clients: through the gateway, and (the
baseline) straight to the ledger with an identity header signed the way the gateway signs it.

The ledger and the gateway run as real uvicorn processes (one worker each, as ``make run``
starts them) on fresh databases of the bench server and a fresh topic namespace, with their
outbox relays and projections running. Every request posts a balanced two-line entry with its
own ``Idempotency-Key``. Latencies are of successful (201) requests, measured in this process.
CPU per posting: the ledger process's CPU time (user + system, /proc/<pid>/stat) over the
direct run, divided by the entries it accepted (its relay and projection included: an upper
bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import tempfile
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_common import (
    PY,
    ROOT,
    Report,
    Result,
    asyncpg_dsn,
    create_database,
    kafka_bootstrap,
    namespace,
)
from shared_kernel.db import pool_limit
from shared_kernel.identity import (
    IDENTITY_HEADER,
    Caller,
    IdentitySigner,
    ensure_keypair,
    key_id_of,
)
from shared_kernel.settings import ServiceSettings

CLIENTS = 32
DURATION = 15.0
WARM_UP = 2.0
START_TIMEOUT = 90.0
# Voucher numbers for every load run of this process: the ledger refuses a number in use, and
# the warm-up and the measured run post to the same ledger.
VOUCHERS = itertools.count()


class Skip(Exception):
    """The gateway (or the ledger) cannot be run; the reason is printed."""


@dataclass
class Service:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path
    env: dict[str, str] = field(default_factory=dict)  # its settings (<NAME>_DATABASE_URL, ...)

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


def cpu_seconds(service: Service) -> float | None:
    """CPU time (user + system) the service's process has used, on Linux; else None."""
    try:
        fields = Path(f"/proc/{service.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CpuMeter:
    """The CPU time a service's process spends per request of a measured run: its CPU time
    over the run, and the same less what the process burns idle over as long (relay,
    projections and inboxes polling), measured by ``idle`` just before. CPU time does not
    grow with the machine's load as latency does."""

    service: Service
    idle_per_second: float = 0.0
    _cpu: float | None = None
    _started: float = 0.0

    async def idle(self, seconds: float = 3.0) -> None:
        before = cpu_seconds(self.service)
        await asyncio.sleep(seconds)
        after = cpu_seconds(self.service)
        if before is not None and after is not None:
            self.idle_per_second = (after - before) / seconds

    def start(self) -> None:
        self._cpu, self._started = cpu_seconds(self.service), time.perf_counter()

    def per_request(self, requests: int) -> str:
        """ "<name> <gross> ms (<net> ms net of idle)" per request since ``start``."""
        now = cpu_seconds(self.service)
        if self._cpu is None or now is None or not requests:
            return ""
        gross = now - self._cpu
        net = gross - self.idle_per_second * (time.perf_counter() - self._started)
        return (
            f"{self.service.name} {gross / requests * 1000:.1f} ms "
            f"({max(net, 0) / requests * 1000:.1f} ms net of idle)"
        )


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
        # As ``make run`` starts them (deploy/run.py): the gateway serves itself
        # (gateway/server.py: its own protocol, with read deadlines), the others by uvicorn.
        served = (
            ["gateway", "serve"]
            if name == "gateway"
            else ["uvicorn", "--factory", f"{name}.main:create_app", "--no-access-log"]
        )
        process = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            *served,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    service = Service(name, port, process, log, env)
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


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def hammer(
    url: str, send: Send, seconds: float, *, clients: int = CLIENTS, expect: int = 201
) -> Load:
    """``clients`` clients, each with its own connection, call ``send(http, number)`` back to
    back for ``seconds``; latencies of the answers with status ``expect`` are kept."""
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
                    answer = await send(http, number)
                except httpx.HTTPError as exc:
                    result.failures[type(exc).__name__] += 1
                    continue
                if answer.status_code == expect:
                    result.latencies.append(time.perf_counter() - sent)
                else:
                    result.failures[f"{answer.status_code} {answer.text[:120]}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


async def load(
    url: str,
    path: str,
    headers: Callable[[], dict[str, str]],
    accounts: tuple[str, str],
    seconds: float,
) -> Load:
    """``CLIENTS`` clients, each with its own connection, post entries back to back."""

    def send(http: httpx.AsyncClient, number: int) -> Awaitable[httpx.Response]:
        return http.post(
            path,
            json=entry_body(*accounts, next(VOUCHERS)),
            headers={**headers(), "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
        )

    return await hammer(url, send, seconds)


@dataclass
class Signed:
    """An identity header signed the way the gateway signs it, for calls straight to a
    service; re-signed every ``resign_seconds`` (before the service would refuse it), so
    that the client's signing is not part of what is measured."""

    signer: IdentitySigner
    audience: str = "ledger"
    subject: str = "operator:accountant"
    roles: frozenset[str] = frozenset({"accountant"})
    office: str = "back"
    resign_seconds: float = 20.0
    _header: dict[str, str] = field(default_factory=dict)
    _signed_at: float = float("-inf")

    def __call__(self) -> dict[str, str]:
        if time.monotonic() - self._signed_at > self.resign_seconds:
            identity = Caller(
                subject=self.subject,
                roles=self.roles,
                office=self.office,
                request_id=str(uuid.uuid4()),
            )
            self._header = {IDENTITY_HEADER: self.signer.sign(identity, audience=self.audience)}
            self._signed_at = time.monotonic()
        return self._header


@dataclass
class Stack:
    """Services under test, each a uvicorn process on a fresh database, and the gateway in
    front of them (None when it cannot run: ``reason`` says why)."""

    services: dict[str, Service]
    gateway: Service | None
    signer: IdentitySigner
    reason: str = ""
    policy_note: str = ""

    def signed(self, audience: str, subject: str, roles: set[str], office: str = "back") -> Signed:
        return Signed(self.signer, audience, subject, frozenset(roles), office)


@contextlib.asynccontextmanager
async def stack(
    names: Sequence[str],
    *,
    gateway: bool = True,
    env: Mapping[str, Mapping[str, str]] | None = None,
) -> AsyncIterator[Stack]:
    """The services ``names`` (each migrated, then started with its relay, projections and
    background loops; ``env`` adds settings per service) and, unless ``gateway`` is false, a
    gateway in front of them with the demo operators, on one fresh topic namespace."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        logs = Path(tmp)
        private, public = ensure_keypair(logs / "keys")
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
        started: dict[str, Service] = {}
        front: Service | None = None
        try:
            for name in names:
                service_env = {
                    **common,
                    **(env or {}).get(name, {}),
                    f"{name.upper()}_DATABASE_URL": await create_database(name, migrate=False),
                }
                await command([PY, "-m", name, "migrate"], service_env, f"python -m {name} migrate")
                started[name] = await start_service(name, service_env, logs)
            reason = note = ""
            if gateway:
                try:
                    front, note = await start_gateway(common, started, logs)
                except Skip as exc:
                    reason = str(exc)
            yield Stack(started, front, signer, reason, note)
        finally:
            if front is not None:
                await stop(front)
            for service in reversed(started.values()):
                await stop(service)


async def start_gateway(
    common: dict[str, str], upstreams: dict[str, Service], logs: Path
) -> tuple[Service, str]:
    """A gateway in front of ``upstreams``, demo operators seeded, rate limit lifted;
    returns it and a note on the policy it runs with."""
    policy, note = await bench_policy(upstreams, logs)
    gateway_env = {
        **common,
        "GATEWAY_DATABASE_URL": await create_database("gateway", migrate=False),
        "GATEWAY_SERVICES": json.dumps({name: s.url for name, s in upstreams.items()}),
        # All clients are one operator: measure throughput, not the per-identity rate limit
        # (100/s by default).
        "RATE_LIMIT_PER_SECOND": "1000000",
        "RATE_LIMIT_BURST": "1000000",
    }
    if policy is not None:
        gateway_env["POLICY_FILE"] = str(policy)
    await command([PY, "-m", "gateway", "migrate"], gateway_env, "python -m gateway migrate")
    await command([PY, "-m", "gateway", "seed-demo"], gateway_env, "python -m gateway seed-demo")
    return await start_service("gateway", gateway_env, logs), note


async def bench_policy(upstreams: dict[str, Service], directory: Path) -> tuple[Path | None, str]:
    """The gateway's policy file if it names every upstream; otherwise a copy with a
    generated section per missing service (every route of its OpenAPI document open to every
    role, reads to read-only roles too: the service checks roles itself), since the gateway
    refuses to start when the policy misses a route. Returns (file or None, note)."""
    from gateway.domain.roles import READ_ONLY_ROLES, ROLES
    from gateway.settings import POLICY_FILE

    text = POLICY_FILE.read_text()
    missing = [name for name in upstreams if name not in tomllib.loads(text).get("routes", {})]
    if not missing:
        return None, "gateway policy: services/gateway/src/gateway/policy.toml"
    sections: list[str] = []
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for name in missing:
            answer = await http.get(f"{upstreams[name].url}/openapi.json")
            if answer.status_code != 200:
                raise Skip(f"{name} /openapi.json answered {answer.status_code}")
            lines = [f"[routes.{name}]"]
            for path, item in sorted(answer.json().get("paths", {}).items()):
                if not path.startswith("/v1/"):
                    continue
                for method in sorted(m for m in item if m in ("get", "post", "put", "patch")):
                    roles = ROLES if method == "get" else ROLES - READ_ONLY_ROLES
                    lines.append(f'"{method.upper()} {path}" = {json.dumps(sorted(roles))}')
                if "delete" in item:
                    roles = ROLES - READ_ONLY_ROLES
                    lines.append(f'"DELETE {path}" = {json.dumps(sorted(roles))}')
            sections.append("\n".join(lines))
    policy = directory / "bench-policy.toml"
    policy.write_text(text + "\n" + "\n\n".join(sections) + "\n")
    return policy, (
        f"gateway policy: policy.toml + a bench-generated [routes.{'], [routes.'.join(missing)}] "
        "(policy.toml has none yet; every route open to every role, the service checks roles)"
    )


@contextlib.asynccontextmanager
async def services() -> AsyncIterator[tuple[Service | None, Service, IdentitySigner, str]]:
    """Ledger and gateway on fresh databases; yields (gateway or None, ledger, signer, why the
    gateway is missing)."""
    async with stack(["ledger"]) as running:
        yield running.gateway, running.services["ledger"], running.signer, running.reason


async def run(report: Report) -> None:
    try:
        await run_load(report)
    except Skip as exc:
        report.say(f"journal entries benchmark skipped, the ledger does not run: {exc}")


async def run_load(report: Report) -> None:
    async with services() as (gateway, ledger, signer, reason):

        def signed() -> dict[str, str]:
            identity = Caller(
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
        cpu_before = cpu_seconds(ledger)
        direct = await load(ledger.url, direct_path, signed, accounts, DURATION)
        cpu_after = cpu_seconds(ledger)
        clients = f"{CLIENTS} clients, {DURATION:.0f}s"
        # Reported at once: should the gateway's run not finish in time, this figure stands.
        if cpu_before is not None and cpu_after is not None and direct.latencies:
            report.add(
                Result(
                    name="CPU per request, ledger, one journal entry",
                    value=(cpu_after - cpu_before) / len(direct.latencies) * 1000,
                    unit="ms",
                    decimals=2,
                    detail=f"({len(direct.latencies):,} entries direct, {clients})",
                    figure="cpu-posting",
                )
            )
        through: Load | None = None
        if bearer:
            assert gateway is not None
            await load(gateway.url, gateway_path, lambda: bearer, accounts, WARM_UP)
            through = await load(gateway.url, gateway_path, lambda: bearer, accounts, DURATION)

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
                    figure="gateway-entries",
                )
            )
            report.add(
                Result(
                    name=f"journal entries via gateway, p99 ({clients})",
                    value=through.percentile(99),
                    unit="ms",
                    baseline_name="ledger direct",
                    baseline_value=direct.percentile(99),
                    figure="gateway-entries-p99",
                )
            )
            notes = [through.failure_note("via gateway"), direct.failure_note("ledger direct")]
        for note in notes:
            if note:
                report.say(f"    {note}")
        opened = await sessions_opened(ledger.env["LEDGER_DATABASE_URL"])
        report.say(
            f"    connections to the ledger's database, opened in all: {opened} (its migration's "
            f"included; the pool holds up to {pool_limit_of(ledger.env)}: more means some were "
            "closed and opened again)"
        )
        report.note(
            "uvicorn, 1 worker each, as the service starts it; relay and projection running in "
            "the ledger; gateway rate limit lifted; clients in this process"
        )


async def sessions_opened(url: str) -> int:
    """Sessions the server has started for the database of ``url`` (this query's left out,
    its migration's counted)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        found = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return max(0, int(found or 0) - 1)


def pool_limit_of(env: Mapping[str, str]) -> int:
    """The most connections a service started with ``env`` opens to its database."""
    default = ServiceSettings.model_fields["database_pool_size"].default
    return pool_limit(int(env.get("DATABASE_POOL_SIZE", default)))


async def log_in(
    gateway: Service, username: str = "accountant", password: str | None = None
) -> dict[str, str]:
    """Log in as a demo operator (password ``demo-<username>``); the bearer header."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30, trust_env=False) as http:
        answer = await http.post(
            "/auth/login",
            json={"username": username, "password": password or f"demo-{username}"},
        )
    if answer.status_code != 200:
        raise Skip(f"log-in as {username} answered {answer.status_code}: {answer.text[:200]}")
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

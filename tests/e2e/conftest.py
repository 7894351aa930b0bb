"""The whole system as a user meets it: ledger and gateway as real uvicorn processes against
real PostgreSQL and Kafka, called over HTTP through the gateway only."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from shared_kernel.db import create_engine
from shared_kernel.testing import CreateDatabase
from sqlalchemy.engine import make_url

from .make_run_stack import distinct_free_ports
from .make_run_stack import free_port as free_port  # re-exported: e2e modules use it

ROOT = Path(__file__).resolve().parents[2]


# The services behind the gateway, each a uvicorn process with its own database.
SERVICES = ("ledger", "tickets", "risk")
DATABASES = (*SERVICES, "gateway")


@dataclass
class System:
    gateway_url: str
    console_url: str
    service_urls: dict[str, str]
    kafka_bootstrap: str
    topic_namespace: str
    # The running processes by name, and how to start one again (for the fault tests).
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    @property
    def ledger_url(self) -> str:
        return self.service_urls["ledger"]

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one service: SIGTERM (a clean stop) or SIGKILL (no clean-up of any kind)."""
        proc = self.processes[name]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    async def start(self, name: str) -> None:
        """Start a stopped service again, on its port, and wait until it is healthy."""
        args, env = self.commands[name]
        proc = subprocess.Popen(args, cwd=ROOT, env=env)  # noqa: ASYNC220 - a server
        self.processes[name] = proc
        url = {"gateway": self.gateway_url, "console": self.console_url}.get(name)
        url = url or self.service_urls[name]
        await _wait_healthy(url, proc)


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env, timeout=120)


async def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(1200):
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited with {proc.returncode}")
            try:
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@pytest.fixture(scope="session")
def e2e_topic_namespaces() -> list[str]:
    """The topic namespace of every system this session started: the last e2e module
    (``test_e2e_zz_contracts_on_topics.py``) checks every record they hold."""
    return []


@pytest.fixture
async def system(
    create_database: CreateDatabase,
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
    e2e_topic_namespaces: list[str],
) -> AsyncIterator[System]:
    e2e_topic_namespaces.append(topic_namespace)
    databases = {name: await create_database(name) for name in DATABASES}
    async with running_system(databases, kafka_bootstrap, topic_namespace, identity_keys) as up:
        yield up


@pytest.fixture(scope="module")
async def module_system(
    database_server_url: str,
    kafka_bootstrap: str,
    identity_keys: tuple[Path, Path],
    e2e_topic_namespaces: list[str],
) -> AsyncIterator[System]:
    """One system shared by the tests of a module (starting one takes many seconds): for tests
    that only read, or write under random ids."""
    namespace = f"t{uuid.uuid4().hex[:10]}."
    e2e_topic_namespaces.append(namespace)
    async with (
        fresh_databases(database_server_url, DATABASES) as databases,
        running_system(databases, kafka_bootstrap, namespace, identity_keys) as up,
    ):
        yield up


@asynccontextmanager
async def fresh_databases(
    server_url: str, labels: tuple[str, ...]
) -> AsyncIterator[dict[str, str]]:
    """A new database per label on the server, dropped afterwards (as ``create_database``,
    which is function-scoped)."""
    names = {label: f"test_{label}_{uuid.uuid4().hex[:12]}" for label in labels}
    admin = create_engine(server_url, pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in names.values():
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url)
        yield {
            label: url.set(database=name).render_as_string(hide_password=False)
            for label, name in names.items()
        }
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in names.values():
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def running_system(
    databases: dict[str, str],
    kafka_bootstrap: str,
    topic_namespace: str,
    identity_keys: tuple[Path, Path],
) -> AsyncIterator[System]:
    """Every service and the gateway migrated, demo operators seeded, all running under
    uvicorn."""
    names = (*SERVICES, "gateway", "console")
    ports = dict(zip(names, distinct_free_ports(len(names)), strict=True))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = {
        **os.environ,
        "ENVIRONMENT": "test",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TOPIC_NAMESPACE": topic_namespace,
        "IDENTITY_PUBLIC_KEY_FILE": str(identity_keys[1]),
        "IDENTITY_PRIVATE_KEY_FILE": str(identity_keys[0]),
        "GATEWAY_SERVICES": json.dumps({name: urls[name] for name in SERVICES}),
        "SCHEMA_BASE_URL": urls["gateway"],  # where every CloudEvent's dataschema points
    }
    envs = {
        name: {**common, f"{name.upper()}_DATABASE_URL": url} for name, url in databases.items()
    }
    # The console is a client of the gateway, with no database of its own.
    envs["console"] = {
        **common,
        "CONSOLE_GATEWAY_URL": urls["gateway"],
        "CONSOLE_SESSION_KEY_FILE": str(identity_keys[0].parent / "console_session.key"),
    }
    await asyncio.gather(
        *(
            asyncio.to_thread(_run, ["-m", name, "migrate"], env)
            for name, env in envs.items()
            if name in databases
        )
    )
    await asyncio.to_thread(_run, ["-m", "gateway", "seed-demo"], envs["gateway"])
    commands = {
        name: (
            [
                sys.executable,
                *(
                    ["-m", name, "serve"]
                    if name in ("gateway", "console")
                    else ["-m", "uvicorn", "--factory", f"{name}.main:create_app"]
                ),  # the gateway serves itself: gateway/server.py
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            envs[name],
        )
        for name, port in ports.items()
    }
    up = System(
        gateway_url=urls["gateway"],
        console_url=urls["console"],
        service_urls={name: urls[name] for name in SERVICES},
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=topic_namespace,
        commands=commands,
    )
    try:
        for name, (args, env) in commands.items():
            # A long-running server, not awaited.
            up.processes[name] = subprocess.Popen(args, cwd=ROOT, env=env)  # noqa: ASYNC220
        for name, proc in up.processes.items():
            await _wait_healthy(urls[name], proc)
        yield up
    finally:
        procs = list(up.processes.values())
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def gateway(system: System) -> Iterator[httpx.AsyncClient]:
    yield httpx.AsyncClient(base_url=system.gateway_url, timeout=30)


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/auth/login", json={"username": username, "password": f"demo-{username}"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}

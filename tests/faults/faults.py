"""The faults the campaign injects, each while the load runs: it returns the moment the fault
was lifted (``time.monotonic()``), from which the row's time to recover is measured.

Kafka faults go through deploy/kafka/cluster.sh (kill-node, start-node, stop, start),
PostgreSQL's through deploy/postgres/pg.py (its ``stop`` is a fast shutdown: open transactions
are rolled back, clients disconnected), processes get signals, and the disk fills on a tmpfs
mounted for the event store's table (root only: mounting needs it)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from tests.e2e.make_run_stack import ROOT, MakeRunStack, service_pid

PG_SYSTEM_USER = "backoffice-pg"  # deploy/postgres/pg.py runs the server as it under root
EVENT_TABLE = "events"  # shared_kernel.schema.events: the event store's one table
TABLESPACE = "fault_campaign_full_disk"


@dataclass
class Faults:
    stack: MakeRunStack
    scale: float  # FAULT_SCALE: 1 gives the durations (Kafka down 30 s, SIGSTOP 60 s)
    notes: list[str] = field(default_factory=list)  # for the row's findings

    def seconds(self, full: float, least: float = 5.0) -> float:
        return max(least, full * self.scale)

    async def script(self, *args: str) -> None:
        """A deploy script as an operator runs it, with the stack's ports and data dir. Three
        brokers starting at once beside a loaded stack on two cores may take minutes: the
        cluster's readiness wait is longer than its default of 120 s."""
        env = {**self.stack.env, "PYTHON": sys.executable, "KAFKA_START_TIMEOUT": "400"}
        done = await asyncio.to_thread(
            subprocess.run, list(args), cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    async def broker_killed(self) -> float:
        """Node 1 (the first bootstrap server) SIGKILLed, restarted 20 s later."""
        await self.script("bash", "deploy/kafka/cluster.sh", "kill-node", "1")
        await asyncio.sleep(self.seconds(20))
        lifted = time.monotonic()
        await self.script("bash", "deploy/kafka/cluster.sh", "start-node", "1")
        return lifted

    async def kafka_down(self) -> float:
        """All three nodes stopped for 30 s (scaled), then started again."""
        await self.script("bash", "deploy/kafka/cluster.sh", "stop")
        await asyncio.sleep(self.seconds(30))
        lifted = time.monotonic()
        try:
            await self.script("bash", "deploy/kafka/cluster.sh", "start")
        except RuntimeError as failure:
            # An operator whose start failed starts again; the row says so.
            self.notes.append(f"cluster.sh start failed once, started again: {failure!s:.300}")
            await self.script("bash", "deploy/kafka/cluster.sh", "start")
        return lifted

    async def postgres_restarted(self) -> float:
        """A fast shutdown, 10 s down (scaled), started again."""
        await self.script(sys.executable, "deploy/postgres/pg.py", "stop")
        if await asyncio.to_thread(listens, int(self.stack.env["PG_PORT"])):
            raise RuntimeError("pg.py stop left PostgreSQL running")
        await asyncio.sleep(self.seconds(10))
        lifted = time.monotonic()
        await self.script(sys.executable, "deploy/postgres/pg.py", "start")
        return lifted

    async def consumer_stuck(self, service: str = "risk") -> float:
        """The service's process stopped (SIGSTOP) for 60 s (scaled), then continued: its
        consumers miss their heartbeats and the group rebalances without them."""
        pid = service_pid(self.stack, service)
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(self.seconds(60, least=15))  # past the 10 s session timeout
        finally:
            os.kill(pid, signal.SIGCONT)
        return time.monotonic()

    # -- disk full --------------------------------------------------------------------------

    @property
    def mount_point(self) -> Path:
        return Path(self.stack.env["BACKOFFICE_DATA_DIR"]) / "full-disk"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.stack.env['PG_PORT']}/{name}"

    def why_no_disk_full(self) -> str | None:
        if os.geteuid() != 0:
            return "mounting a small tmpfs needs root; this run is not root"
        if shutil.which("mount") is None:
            return "no mount command on this machine"
        return None

    async def disk_full(self) -> float:
        """The ledger's event table moved onto a tmpfs just larger than it, the rest of the
        tmpfs filled: the next write that needs a page fails with SQLSTATE 53100 (disk_full).
        Held 10 s (scaled), then the filler is removed."""
        connection = await asyncpg.connect(self.database_url("ledger"))
        try:
            size = int(await connection.fetchval(f"SELECT pg_total_relation_size('{EVENT_TABLE}')"))
            mount = self.mount_point
            mount.mkdir(exist_ok=True)
            megabytes = size // 2**20 + 4
            await self.run("mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount))
            shutil.chown(mount, user=PG_SYSTEM_USER, group=PG_SYSTEM_USER)
            mount.chmod(0o700)
            await connection.execute(f"CREATE TABLESPACE {TABLESPACE} LOCATION '{mount}'")
            await connection.execute(f"ALTER TABLE {EVENT_TABLE} SET TABLESPACE {TABLESPACE}")
            filler = mount / "filler"
            await asyncio.to_thread(fill, filler)
            await asyncio.sleep(self.seconds(10))
            filler.unlink()
            return time.monotonic()
        finally:
            await connection.close()

    async def disk_restored(self) -> None:
        """The event table back on the data disk, the tablespace dropped, the tmpfs gone."""
        connection = await asyncpg.connect(self.database_url("ledger"))
        try:
            await connection.execute(f"ALTER TABLE {EVENT_TABLE} SET TABLESPACE pg_default")
            await connection.execute(f"DROP TABLESPACE IF EXISTS {TABLESPACE}")
        finally:
            await connection.close()
        if await asyncio.to_thread(os.path.ismount, self.mount_point):
            await self.run("umount", str(self.mount_point))

    async def run(self, *args: str) -> None:
        await asyncio.to_thread(subprocess.run, list(args), check=True, timeout=60)


def listens(port: int) -> bool:
    """Whether a server accepts connections on the port (a fault that did not happen must not
    pass for one that held)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def fill(path: Path) -> None:
    """Write zeros into ``path`` until the file system is full."""
    block = b"\0" * 2**16
    with path.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError:
            pass
        # The last partial block, page by page, so that not even one page is left.
        try:
            while True:
                out.write(block[:4096])
        except OSError:
            pass
    os.chmod(path, 0o644)


# -- replicas (deploy/run.py with <SERVICE>_REPLICAS) ---------------------------------------------

RELAY_LEADER = re.compile(r'^backoffice_relay_leader\{service="(\w+)"\} (\S+)$', re.M)
TAKEOVER_LIMIT_S = 15.0  # issue 16: another replica leads the relay within 15 s


@dataclass
class Replica:
    service: str
    replica: int
    port: int
    pid: int


@dataclass
class ReplicaFaults:
    """Faults of one process among a service's replicas; ``problems`` and ``notes`` go into
    the row's findings (a takeover too slow, where the partitions went)."""

    faults: Faults
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def replicas(self, service: str) -> list[Replica]:
        """``<data>/run/processes.json``, which deploy/run.py rewrites on every (re)start."""
        path = Path(self.faults.stack.env["BACKOFFICE_DATA_DIR"]) / "run" / "processes.json"
        if not path.exists():
            return []
        listed = json.loads(path.read_text())["processes"]
        return [
            Replica(p["name"], int(p["replica"]), int(p["port"]), int(p["pid"]))
            for p in listed
            if p["name"] == service
        ]

    async def leads_relay(self, replica: Replica) -> bool:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                metrics = (await client.get(f"http://127.0.0.1:{replica.port}/metrics")).text
        except httpx.HTTPError:
            return False
        return any(
            s == replica.service and float(v) == 1.0 for s, v in RELAY_LEADER.findall(metrics)
        )

    async def relay_leader(self, service: str) -> Replica | None:
        for replica in self.replicas(service):
            if await self.leads_relay(replica):
                return replica
        return None

    async def replica_killed(self, service: str = "ledger") -> float:
        """A replica that does not lead the relay SIGKILLed (the supervisor starts it again):
        the gateway must route around it."""
        leader = await self.relay_leader(service)
        victims = [r for r in self.replicas(service) if leader is None or r.pid != leader.pid]
        victim = victims[-1]
        os.kill(victim.pid, signal.SIGKILL)
        self.notes.append(f"{service} replica {victim.replica} (pid {victim.pid}) killed")
        return time.monotonic()

    async def relay_leader_killed(self, service: str = "ledger") -> float:
        """The replica leading the relay SIGKILLed: another must lead within 15 s."""
        leader = await self.relay_leader(service)
        if leader is None:
            raise RuntimeError(f"no replica of {service} says it leads the relay")
        os.kill(leader.pid, signal.SIGKILL)
        killed = time.monotonic()
        while time.monotonic() - killed < 60:
            others = [r for r in self.replicas(service) if r.pid != leader.pid]
            for replica in others:
                if await self.leads_relay(replica):
                    took = time.monotonic() - killed
                    self.notes.append(
                        f"replica {replica.replica} led the relay {took:.1f} s after the kill"
                    )
                    if took > TAKEOVER_LIMIT_S:
                        self.problems.append(f"takeover took {took:.1f} s (> 15 s)")
                    return killed
            await asyncio.sleep(0.5)
        self.problems.append("no other replica took the relay over within 60 s")
        return killed

    async def consumer_stuck(
        self, uncleared: Callable[[datetime], Awaitable[int]], service: str = "risk"
    ) -> float:
        """One risk replica SIGSTOPped for 60 s (scaled), then SIGCONT. Its consumers miss their
        heartbeats, the groups rebalance and the other replica takes their partitions: shown
        by what a user sees, every deal submitted up to a few seconds ago cleared by risk
        while the stopped replica is still stopped (``uncleared``: the deals submitted before
        a moment that risk has not cleared)."""
        stuck = self.replicas(service)[-1]
        os.kill(stuck.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(self.faults.seconds(60, least=20))  # past the session timeout
            cutoff = datetime.now(UTC) - timedelta(seconds=3)
            for _ in range(30):  # a deal still on its way: some seconds more
                left = await uncleared(cutoff)
                if not left:
                    break
                await asyncio.sleep(1)
        finally:
            os.kill(stuck.pid, signal.SIGCONT)
        if left:
            self.problems.append(
                f"{left} deals not cleared while {service} replica {stuck.replica} was stopped: "
                "its partitions did not move"
            )
        else:
            self.notes.append(
                f"{service} replica {stuck.replica} stopped; the other cleared every deal "
                "meanwhile: its partitions moved"
            )
        return time.monotonic()

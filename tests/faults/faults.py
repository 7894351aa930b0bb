"""The faults the campaign injects, each while the load runs: it returns the moment the fault
was lifted (``time.monotonic()``), from which the row's time to recover is measured.

Kafka faults go through deploy/kafka/cluster.sh (kill-node, start-node, stop, start),
PostgreSQL's through deploy/postgres/pg.py (its ``stop`` is a fast shutdown: open transactions
are rolled back, clients disconnected), processes get signals, and the disk fills on a tmpfs
mounted for the event store's table (root only: mounting needs it)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.e2e.make_run_stack import ROOT, MakeRunStack, service_pid

PG_SYSTEM_USER = "backoffice-pg"  # deploy/postgres/pg.py runs the server as it under root
EVENT_TABLE = "events"  # shared_kernel.schema.events: the event store's one table
TABLESPACE = "fault_campaign_full_disk"


@dataclass
class Faults:
    stack: MakeRunStack
    scale: float  # FAULT_SCALE: 1 gives the durations (Kafka down 30 s, SIGSTOP 60 s)

    def seconds(self, full: float, least: float = 5.0) -> float:
        return max(least, full * self.scale)

    async def script(self, *args: str) -> None:
        """A deploy script as an operator runs it, with the stack's ports and data dir."""
        env = {**self.stack.env, "PYTHON": sys.executable}
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
        await self.script("bash", "deploy/kafka/cluster.sh", "start")
        return lifted

    async def postgres_restarted(self) -> float:
        """A fast shutdown, 10 s down (scaled), started again."""
        await self.script(sys.executable, "deploy/postgres/pg.py", "stop")
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

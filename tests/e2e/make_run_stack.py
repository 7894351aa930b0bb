"""A back office started exactly as `make run` starts it: deploy/run.py as a subprocess, with
PostgreSQL and Kafka of its own on free ports and its data in a temporary directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "The back office is running."
START_TIMEOUT_S = 420  # a first start formats Kafka and PostgreSQL, migrates and seeds
STOP_TIMEOUT_S = 120
# Settings that would point the stack at other servers or databases than its own, such as the
# servers of the surrounding test run (deploy/test.sh exports their data directories): the stack
# must neither use them nor, when it stops, stop them.
FOREIGN = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "TOPIC_NAMESPACE",
    "PG_DATA_DIR",
    "KAFKA_DATA_DIR",
    "TEST_DATABASE_URL",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def distinct_free_ports(count: int) -> list[int]:
    """``count`` free ports, all different: each stays bound until all are chosen (one
    ``free_port`` after another may be given the same port twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for taken in sockets:
            taken.bind(("127.0.0.1", 0))
        return [int(taken.getsockname()[1]) for taken in sockets]
    finally:
        for taken in sockets:
            taken.close()


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (the cluster's nodes take one each)."""
    for _ in range(100):
        first = free_port()
        sockets = []
        try:
            for port in range(first, first + count):
                taken = socket.socket()
                sockets.append(taken)
                taken.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for taken in sockets:
                taken.close()
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class MakeRunStack:
    env: dict[str, str]  # what a user's shell would hold: the ports and the data dir
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CONSOLE_PORT']}"

    def port(self, service: str) -> int:
        return int(self.env[f"{service.upper()}_PORT"])

    def ports(self, service: str) -> list[int]:
        """Every replica's port (``<SERVICE>_PORTS`` when the stack runs several)."""
        listed = self.env.get(f"{service.upper()}_PORTS")
        return [int(p) for p in listed.split(",")] if listed else [self.port(service)]

    @property
    def processes_file(self) -> Path:
        return Path(self.env["BACKOFFICE_DATA_DIR"]) / "run" / "processes.json"

    def processes(self) -> list[dict[str, int | str]]:
        """run.py's process file: name, replica, port and pid of every process it supervises."""
        found: list[dict[str, int | str]] = json.loads(self.processes_file.read_text())["processes"]
        return found

    def pid_of(self, service: str, replica: int = 1) -> int:
        return next(
            int(p["pid"])
            for p in self.processes()
            if p["name"] == service and p["replica"] == replica
        )

    @property
    def cli_env(self) -> dict[str, str]:
        """For `make rebuild` and `python -m <service> ...`: the servers of this stack (on the
        default ports `make run` needs none of this)."""
        return {
            **self.env,
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.env['PG_PORT']}/postgres",
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.env['KAFKA_PORT']}",
        }

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def stack_env(data_dir: Path, replicas: Mapping[str, int] | None = None) -> dict[str, str]:
    """A shell's settings for a stack of its own; ``replicas``: how many processes a service
    (or the gateway) runs, each on a free port of its own (``<SERVICE>_PORTS``)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in FOREIGN and not name.endswith("_DATABASE_URL")
    }
    names = ["PG", "KAFKA", "KAFKA_CONTROLLER", "GATEWAY", "LEDGER", "TICKETS", "RISK", "CONSOLE"]
    extra = {service: count - 1 for service, count in (replicas or {}).items()}
    ports = iter(distinct_free_ports(len(names) + sum(extra.values())))
    env.update({f"{name}_PORT": str(next(ports)) for name in names})
    for service, more in extra.items():
        listed = [env[f"{service.upper()}_PORT"], *(str(next(ports)) for _ in range(more))]
        env[f"{service.upper()}_PORTS"] = ",".join(listed)
    env["BACKOFFICE_DATA_DIR"] = str(data_dir)
    env["KAFKA_HEAP"] = "-Xmx512m -Xms128m"
    env.setdefault("KAFKA_HOME", str(ROOT / ".data" / "kafka-dist"))
    return env


@contextmanager
def make_run_stack(
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    replicas: Mapping[str, int] | None = None,
) -> Iterator[MakeRunStack]:
    """deploy/run.py (what `make run` runs after installing), until it says it is running;
    ``extra_env``: what a user sets before `make run`, such as ``KAFKA_PROFILE=cluster``;
    ``replicas``: processes per service, such as ``{"ledger": 2}``, on free ports."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**stack_env(data_dir, replicas), **(extra_env or {})}
    log = data_dir / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "deploy/run.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to clean up after a failure
        )
    stack = MakeRunStack(env, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY_LINE not in log.read_text(errors="replace"):
            if process.poll() is not None:
                raise RuntimeError(
                    f"make run exited with {process.returncode}:\n{stack.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"make run not ready in {START_TIMEOUT_S} s:\n{stack.log_tail()}"
                )
            time.sleep(1)
        yield stack
    finally:
        stop(stack)


def stop(stack: MakeRunStack) -> None:
    """SIGTERM, as Ctrl-C: run.py stops the services, then Kafka and PostgreSQL it started."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(stack.process.pid, signal.SIGKILL)
            stack.process.wait(timeout=30)
    # Whatever happened above, leave no server of this stack behind.
    scripts = {**stack.env, "PYTHON": sys.executable}
    kafka = "cluster.sh" if stack.env.get("KAFKA_PROFILE") == "cluster" else "kafka.sh"
    for command in (
        ["bash", f"deploy/kafka/{kafka}", "stop"],
        [sys.executable, "deploy/postgres/pg.py", "stop"],
    ):
        subprocess.run(
            command, cwd=ROOT, env=scripts, capture_output=True, timeout=120, check=False
        )


def service_pid(stack: MakeRunStack, service: str) -> int:
    """The pid of a service's uvicorn process under the stack's supervisor."""
    needle = f"{service}.main:create_app --host 127.0.0.1 --port {stack.port(service)}"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in cmdline:
            return int(proc.name)
    raise LookupError(f"no process of {service} on port {stack.port(service)}")

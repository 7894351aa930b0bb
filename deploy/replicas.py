"""How many processes `make run` starts per service, on which ports, and where it says so.

``<SERVICE>_REPLICAS`` (1 to 8, default 1) replicas of ledger, tickets, risk and the gateway;
replica k listens on ``<SERVICE>_PORT + 100*(k-1)`` unless ``<SERVICE>_PORTS`` lists the ports
(its length is then the count, and must agree with ``<SERVICE>_REPLICAS`` when both are set).
Every replica runs everything a service has (API, relay leader or standby, projections,
inboxes, sweepers): what must happen once is made so by PostgreSQL and Kafka, not by counting
processes.

The process file (``<data>/run/processes.json``) tells tools outside `make run`, such as a fault
campaign that kills one replica, which process is which: it is rewritten whole (temporary file,
then ``os.replace``) whenever a process starts or is restarted, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPLICATED = ("ledger", "tickets", "risk", "gateway")
MAX_REPLICAS = 8
PORT_STEP = 100  # replica k of a service: its port + 100*(k-1), clear of the others' 8001..8003


@dataclass(frozen=True)
class Replica:
    """One process of a service: ``replica`` counts from 1."""

    service: str
    replica: int
    port: int
    of: int  # how many replicas the service has

    @property
    def label(self) -> str:
        """Its name in the supervisor's log: the service alone when it is the only one."""
        return self.service if self.of == 1 else f"{self.service}#{self.replica}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _count(service: str, environ: Mapping[str, str]) -> int | None:
    name = f"{service.upper()}_REPLICAS"
    raw = (environ.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise SystemExit(f"{name} must be a whole number from 1 to {MAX_REPLICAS}, not {raw!r}")
    return int(raw)


def _port(name: str, raw: str) -> int:
    raw = raw.strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SystemExit(f"{name} must hold port numbers (1 to 65535), not {raw!r}")
    return int(raw)


def replicas(service: str, default_port: int, environ: Mapping[str, str]) -> list[Replica]:
    """The replicas of ``service`` as the settings ask; a setting that makes no sense stops
    `make run` with a message naming it (SystemExit) rather than starting something else."""
    count = _count(service, environ)
    listed = (environ.get(f"{service.upper()}_PORTS") or "").strip()
    if listed:
        name = f"{service.upper()}_PORTS"
        ports = [_port(name, part) for part in listed.split(",")]
        if len(ports) > MAX_REPLICAS:
            raise SystemExit(f"{name} lists {len(ports)} ports; at most {MAX_REPLICAS} replicas")
        if count is not None and count != len(ports):
            raise SystemExit(
                f"{service.upper()}_REPLICAS={count} but {name} lists {len(ports)} ports"
            )
    else:
        raw = environ.get(f"{service.upper()}_PORT")
        base = _port(f"{service.upper()}_PORT", raw) if raw else default_port
        ports = [base + PORT_STEP * k for k in range(count or 1)]
        if ports[-1] > 65535:
            raise SystemExit(f"{service.upper()}_PORT {base} leaves no room for {len(ports)}")
    if len(set(ports)) != len(ports):
        raise SystemExit(f"{service.upper()}_PORTS lists a port twice: {listed}")
    return [Replica(service, k + 1, port, len(ports)) for k, port in enumerate(ports)]


def all_replicas(
    defaults: Mapping[str, int], environ: Mapping[str, str]
) -> dict[str, list[Replica]]:
    """Every replicated service's replicas; no port may serve two processes."""
    found = {service: replicas(service, port, environ) for service, port in defaults.items()}
    ports = [r.port for group in found.values() for r in group]
    clashes = sorted({port for port in ports if ports.count(port) > 1})
    if clashes:
        raise SystemExit(f"two processes would listen on port(s) {clashes}: check *_PORT(S)")
    return found


@dataclass(frozen=True)
class Running:
    """A line of the process file."""

    name: str
    replica: int
    port: int
    pid: int


def process_file(data: Path) -> Path:
    return data / "run" / "processes.json"


def write_process_file(path: Path, processes: Iterable[Running]) -> None:
    """Replace the file whole: a reader sees the old list or the new one, never a mixture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"processes": [vars(p) for p in processes]}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(body, indent=1) + "\n")
    os.replace(temporary, path)


def read_process_file(path: Path) -> list[Running]:
    return [Running(**line) for line in json.loads(path.read_text())["processes"]]

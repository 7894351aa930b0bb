"""`make run`: Kafka, PostgreSQL, every service and the gateway, with demo data and logins.

Starts what is not given from outside (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` pointing at
a server whose databases ledger/tickets/risk/gateway are created here), migrates, starts each
service as its own uvicorn process, seeds demo operators and demo data (deploy/demo_data.py),
prints where to go, restarts a service that dies (deploy/supervisor.py), and stops everything on
Ctrl-C. Data lives in ``BACKOFFICE_DATA_DIR`` (default .data/) and survives a restart.

``<SERVICE>_REPLICAS`` (or ``<SERVICE>_PORTS``) starts a service or the gateway as several
processes (deploy/replicas.py); each gateway spreads requests over every replica of a service.
``<data>/run/processes.json`` says which process is which, for tools that kill one on purpose.

Each service finds its database the way its command line does (``shared_kernel.settings``:
``<SERVICE>_DATABASE_URL``, else the database named after it on ``DATABASE_URL``'s server), so
``make rebuild`` and ``python -m ledger verify`` need no settings beyond those given here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import demo_data  # deploy/demo_data.py, beside this script
import kafka_profile
from replicas import Replica, Running, all_replicas, process_file, write_process_file
from supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
# deploy/postgres/pg.py and deploy/kafka/kafka.sh keep their data below it too.
DATA = Path(os.environ.get("BACKOFFICE_DATA_DIR") or ROOT / ".data").resolve()
PG_PORT = os.environ.get("PG_PORT", "55432")
CONSOLE_PORT = int(os.environ.get("CONSOLE_PORT", "8080"))
# Every process of each service and of the gateway (one each unless <SERVICE>_REPLICAS says).
REPLICAS: dict[str, list[Replica]] = all_replicas(
    {"ledger": 8001, "tickets": 8002, "risk": 8003, "gateway": 8000}, os.environ
)
# The first replica's port stands for the service where one address is wanted (the console,
# the demo data, the schemas' base URL).
GATEWAY_PORT = REPLICAS["gateway"][0].port
SERVICES = {name: REPLICAS[name][0].port for name in ("ledger", "tickets", "risk")}
DEMO_ROLES = [
    "trader",
    "customer-service",
    "accountant",
    "risk-officer",
    "it-support",
    "controller",
    "admin",
    "auditor",
    "monitoring",
    "risk-officer-2",
    "it-support-2",
]


def sh(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(list(args), check=True, cwd=ROOT, env={**os.environ, **(env or {})})


def server_url() -> str:
    return os.environ.get("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres")


def kafka_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or kafka_profile.bootstrap_servers(os.environ)


def infrastructure_env() -> dict[str, str]:
    """Where PostgreSQL and Kafka are: the servers given, or those started here."""
    return {"DATABASE_URL": server_url(), "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap()}


def database_name(service: str) -> str:
    from shared_kernel.settings import service_database_url
    from sqlalchemy.engine import make_url

    database = make_url(service_database_url(service, {**os.environ, **infrastructure_env()}))
    return str(database.database)


def infrastructure_scripts_env() -> dict[str, str]:
    """For deploy/postgres/pg.py and deploy/kafka/kafka.sh: our python and data dir."""
    return {"PYTHON": PY, "BACKOFFICE_DATA_DIR": str(DATA)}


def start_infrastructure() -> list[list[str]]:
    """Start PostgreSQL and Kafka unless given; returns the commands that stop what we started."""
    stops: list[list[str]] = []
    env = infrastructure_scripts_env()
    if "DATABASE_URL" not in os.environ:
        sh(PY, "deploy/postgres/pg.py", "start", env=env)
        stops.append([PY, "deploy/postgres/pg.py", "stop"])
        names = [database_name(service) for service in [*SERVICES, "gateway"]]
        sh(PY, "deploy/postgres/pg.py", "createdb", *names, env=env)
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        script = kafka_profile.SCRIPT[kafka_profile.profile(os.environ)]
        sh("bash", script, "start", env=env)
        stops.append(["bash", script, "stop"])
    return stops


def service_env(name: str) -> dict[str, str]:
    keys = DATA / "keys"
    return {
        **infrastructure_env(),
        "IDENTITY_PUBLIC_KEY_FILE": str(keys / "identity_ed25519.pub.pem"),
        "IDENTITY_PRIVATE_KEY_FILE": str(keys / "identity_ed25519.pem"),
        "GATEWAY_SERVICES": gateway_services(),
        # Every CloudEvent's dataschema names its schema at the gateway.
        "SCHEMA_BASE_URL": f"http://127.0.0.1:{GATEWAY_PORT}",
        **log_env(),
        **kafka_profile.service_kafka_env(name, os.environ, DATA),
    }


def gateway_services() -> str:
    """What every gateway calls: a service's one base URL, or the list of its replicas'."""
    urls: dict[str, str | list[str]] = {}
    for name in SERVICES:
        replicas = [replica.url for replica in REPLICAS[name]]
        urls[name] = replicas if len(replicas) > 1 else replicas[0]
    return json.dumps(urls)


def log_env() -> dict[str, str]:
    """Log lines for a person at a terminal (the services write JSON lines by default)."""
    return {"LOG_FORMAT": os.environ.get("LOG_FORMAT", "text")}


def wait_healthy(port: int, name: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}; see its log above")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"{name} did not become healthy on port {port}")


class ProcessFile:
    """``processes.json``: every process `make run` supervises, its replica, port and pid."""

    def __init__(self, pid_of: Callable[[str], int]) -> None:
        self.path = process_file(DATA)
        self._pid_of = pid_of  # the pid of the process the supervisor knows by that name
        self._started: list[tuple[str, Replica]] = []  # (supervisor's name, replica)

    def started(self, replica: Replica) -> None:
        self._started.append((replica.label, replica))
        self.write()

    def write(self, _restarted: str = "") -> None:
        write_process_file(
            self.path,
            [
                Running(r.service, r.replica, r.port, self._pid_of(label))
                for label, r in self._started
            ],
        )

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def start_services(supervisor: Supervisor, processes: ProcessFile) -> None:
    """Migrate, seed operators, start each service's replicas and wait until healthy, seed."""
    for name in [*SERVICES, "gateway"]:
        sh(PY, "-m", name, "migrate", env=service_env(name))
    sh(PY, "-m", "gateway", "seed-demo", env=service_env("gateway"))
    for name in [*SERVICES, "gateway"]:
        started = []
        for replica in REPLICAS[name]:
            command = (
                [PY, "-m", name, "serve"]
                if name == "gateway"
                else [PY, "-m", "uvicorn", "--factory", f"{name}.main:create_app"]
            )  # the gateway serves itself: gateway/server.py
            command += ["--host", "127.0.0.1", "--port", str(replica.port)]
            command += ["--log-level", "warning"]
            proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **service_env(name)})
            supervisor.watch(replica.label, proc, relauncher(name, command))
            processes.started(replica)
            started.append((replica, proc))
        for replica, proc in started:  # the replicas of a service start side by side
            wait_healthy(replica.port, replica.label, proc)
    demo_data.seed(f"http://127.0.0.1:{GATEWAY_PORT}")
    start_console(supervisor, processes)


def console_env() -> dict[str, str]:
    """The console is a client of the gateway: its address and the key of its sessions."""
    return {
        "CONSOLE_GATEWAY_URL": f"http://127.0.0.1:{GATEWAY_PORT}",
        "CONSOLE_SESSION_KEY_FILE": str(DATA / "keys" / "console_session.key"),
        **log_env(),
    }


def start_console(supervisor: Supervisor, processes: ProcessFile) -> None:
    command = [PY, "-m", "console", "serve", "--host", "127.0.0.1", "--port", str(CONSOLE_PORT)]
    command += ["--log-level", "warning"]

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **console_env()})

    proc = launch()
    supervisor.watch("console", proc, launch)
    processes.started(Replica("console", 1, CONSOLE_PORT, 1))
    wait_healthy(CONSOLE_PORT, "console", proc)


def relauncher(name: str, command: list[str]) -> Callable[[], subprocess.Popen[bytes]]:
    """Starts a service again as it was started first (its settings read afresh)."""
    return lambda: subprocess.Popen(command, cwd=ROOT, env={**os.environ, **service_env(name)})


def demo_api_key(system: str = "trading-system") -> str:
    """A demo system's API key, written by the gateway's seed-demo when it made the key."""
    name = "demo-api-key.txt" if system == "trading-system" else f"demo-{system}-api-key.txt"
    key_file = DATA / "keys" / name
    return key_file.read_text().strip() if key_file.exists() else "(shown when it was created)"


def other_gateways() -> str:
    """The banner's note of the gateways beyond the first (they all serve the same API)."""
    more = [replica.url for replica in REPLICAS["gateway"][1:]]
    return f"\n                      (also {', '.join(more)})" if more else ""


def services_line() -> str:
    """Every service's replicas, wrapped under the banner's column."""
    lines = [f"{name} {' '.join(replica.url for replica in REPLICAS[name])}" for name in SERVICES]
    if all(len(REPLICAS[name]) == 1 for name in SERVICES):
        return ", ".join(lines)
    return "\n                      ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--infra-only", action="store_true", help="start Kafka and PostgreSQL only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "shared" / "src"))
    from shared_kernel.identity import ensure_keypair

    ensure_keypair(DATA / "keys")
    stops = start_infrastructure()
    if args.infra_only:
        print("Kafka and PostgreSQL are running; `make infra-down` stops them.")
        return
    supervisor: Supervisor
    processes = ProcessFile(lambda name: supervisor.process_of(name).pid)
    supervisor = Supervisor(log=lambda line: print(line, flush=True), on_restart=processes.write)

    def stop_all() -> None:
        print("\nstopping ...", flush=True)
        supervisor.stop()
        processes.remove()
        for stop in reversed(stops):
            env = {**os.environ, **infrastructure_scripts_env()}
            subprocess.run(stop, cwd=ROOT, env=env, check=False)
        print(f"stopped; data is kept in {DATA}")

    def shutdown(*_: object) -> None:
        stop_all()
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        start_services(supervisor, processes)
    except (subprocess.CalledProcessError, SystemExit) as failure:
        print(f"start-up failed: {failure}", flush=True)
        stop_all()
        sys.exit(1)
    print(
        f"""
The back office is running.
  Operator console    http://127.0.0.1:{CONSOLE_PORT}/   (log in as trader / demo-trader,
                      accountant / demo-accountant, ...; English or Deutsch)
  Gateway API         http://127.0.0.1:{GATEWAY_PORT}/docs{other_gateways()}
  Event contracts     http://127.0.0.1:{GATEWAY_PORT}/asyncapi   (/asyncapi.json, /schemas)
  Log in              POST http://127.0.0.1:{GATEWAY_PORT}/auth/login {{"username","password"}}
  Demo logins         {", ".join(f"{r} / demo-{r}" for r in DEMO_ROLES)}
                      (front office: trader, customer-service; back office: accountant,
                       risk-officer, it-support, controller, monitoring; risk-officer-2 and
                       it-support-2 are second colleagues for four-eyes and round-robin)
  Demo systems        trading-system (role trader), API key: {demo_api_key()}
                      monitoring-system (role monitoring), API key:
                        {demo_api_key("monitoring-system")}
                      (send it as X-API-Key: <key> or Authorization: ApiKey <key>)
  Services (internal) {services_line()}
                      (they only accept the gateway's calls; through the gateway: /<service>/v1/...)
  Kafka               {kafka_bootstrap()}
                      topics ledger.events, tickets.events, risk.events, gateway.events,
                      gateway.audit
  PostgreSQL          {server_url()}
A service that dies is restarted; which process is which: {processes.path}
Ctrl-C stops everything; data survives in {DATA}.
""",
        flush=True,
    )
    while True:
        supervisor.check()
        time.sleep(0.5)


if __name__ == "__main__":
    main()

"""`make run`: Kafka, PostgreSQL, every service and the gateway, with demo data and logins.

Starts what is not given from outside (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` pointing at
a server whose databases ledger/tickets/risk/gateway are created here), migrates, starts each
service as its own uvicorn process, seeds demo operators and demo data (deploy/demo_data.py),
prints where to go, and stops everything on Ctrl-C. Data lives in .data/ and survives a restart.
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
from pathlib import Path

import demo_data  # deploy/demo_data.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DATA = ROOT / ".data"
PG_PORT = os.environ.get("PG_PORT", "55432")
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "8000"))
SERVICES = {
    "ledger": int(os.environ.get("LEDGER_PORT", "8001")),
    "tickets": int(os.environ.get("TICKETS_PORT", "8002")),
    "risk": int(os.environ.get("RISK_PORT", "8003")),
}
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


def database_url(name: str) -> str:
    base = server_url().rsplit("/", 1)[0]
    return os.environ.get(f"{name.upper()}_DATABASE_URL", f"{base}/{name}")


def start_infrastructure() -> list[list[str]]:
    """Start PostgreSQL and Kafka unless given; returns the commands that stop what we started."""
    stops: list[list[str]] = []
    env = {"PYTHON": PY}
    if "DATABASE_URL" not in os.environ:
        sh(PY, "deploy/postgres/pg.py", "start", env=env)
        stops.append([PY, "deploy/postgres/pg.py", "stop"])
        sh(PY, "deploy/postgres/pg.py", "createdb", *SERVICES, "gateway", env=env)
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        sh("bash", "deploy/kafka/kafka.sh", "start")
        stops.append(["bash", "deploy/kafka/kafka.sh", "stop"])
    return stops


def service_env(name: str) -> dict[str, str]:
    keys = DATA / "keys"
    return {
        "DATABASE_URL": database_url(name),
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "IDENTITY_PUBLIC_KEY_FILE": str(keys / "identity_ed25519.pub.pem"),
        "IDENTITY_PRIVATE_KEY_FILE": str(keys / "identity_ed25519.pem"),
        "GATEWAY_SERVICES": json.dumps({s: f"http://127.0.0.1:{p}" for s, p in SERVICES.items()}),
    }


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


def start_services(procs: list[subprocess.Popen[bytes]]) -> None:
    """Migrate, seed operators, start each service and wait until healthy, seed the chart."""
    for name in [*SERVICES, "gateway"]:
        sh(PY, "-m", name, "migrate", env=service_env(name))
    sh(PY, "-m", "gateway", "seed-demo", env=service_env("gateway"))
    for name, port in [*SERVICES.items(), ("gateway", GATEWAY_PORT)]:
        command = (
            [PY, "-m", name, "serve"]
            if name == "gateway"
            else [PY, "-m", "uvicorn", "--factory", f"{name}.main:create_app"]
        )  # the gateway serves itself: gateway/server.py
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **service_env(name)})
        procs.append(proc)
        wait_healthy(port, name, proc)
    demo_data.seed(f"http://127.0.0.1:{GATEWAY_PORT}")


def demo_api_key(system: str = "trading-system") -> str:
    """A demo system's API key, written by the gateway's seed-demo when it made the key."""
    name = "demo-api-key.txt" if system == "trading-system" else f"demo-{system}-api-key.txt"
    key_file = DATA / "keys" / name
    return key_file.read_text().strip() if key_file.exists() else "(shown when it was created)"


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
    procs: list[subprocess.Popen[bytes]] = []

    def stop_all() -> None:
        print("\nstopping ...", flush=True)
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for stop in reversed(stops):
            subprocess.run(stop, cwd=ROOT, env={**os.environ, "PYTHON": PY}, check=False)
        print("stopped; data is kept in .data/")

    def shutdown(*_: object) -> None:
        stop_all()
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        start_services(procs)
    except (subprocess.CalledProcessError, SystemExit) as failure:
        print(f"start-up failed: {failure}", flush=True)
        stop_all()
        sys.exit(1)
    print(
        f"""
The back office is running.
  Gateway API         http://127.0.0.1:{GATEWAY_PORT}/docs
  Log in              POST http://127.0.0.1:{GATEWAY_PORT}/auth/login {{"username","password"}}
  Demo logins         {", ".join(f"{r} / demo-{r}" for r in DEMO_ROLES)}
                      (front office: trader, customer-service; back office: accountant,
                       risk-officer, it-support, controller, monitoring; risk-officer-2 and
                       it-support-2 are second colleagues for four-eyes and round-robin)
  Demo systems        trading-system (role trader), API key: {demo_api_key()}
                      monitoring-system (role monitoring), API key:
                        {demo_api_key("monitoring-system")}
                      (send it as X-API-Key: <key> or Authorization: ApiKey <key>)
  Services (internal) {", ".join(f"{s} http://127.0.0.1:{p}" for s, p in SERVICES.items())}
                      (they only accept the gateway's calls; through the gateway: /<service>/v1/...)
  Kafka               {service_env("ledger")["KAFKA_BOOTSTRAP_SERVERS"]}
                      topics ledger.events, tickets.events, risk.events, gateway.events,
                      gateway.audit
  PostgreSQL          {server_url()}
Ctrl-C stops everything; data survives in .data/.
""",
        flush=True,
    )
    while True:
        for proc in procs:
            if proc.poll() is not None:
                print(f"a service exited with {proc.returncode}; stopping", flush=True)
                shutdown()
        time.sleep(1)


if __name__ == "__main__":
    main()

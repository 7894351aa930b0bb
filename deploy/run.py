"""`make run`: Kafka, PostgreSQL, every service and the gateway, with demo data and logins.

Starts what is not given from outside (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` pointing at
a server whose databases ledger/gateway are created here), migrates, starts each service as
its own uvicorn process, seeds demo operators and a demo chart of accounts, prints where to
go, and stops everything on Ctrl-C. Data lives in .data/ and survives a restart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DATA = ROOT / ".data"
PG_PORT = os.environ.get("PG_PORT", "55432")
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "8000"))
SERVICES = {"ledger": int(os.environ.get("LEDGER_PORT", "8001"))}
DEMO_ROLES = [
    "trader",
    "customer-service",
    "accountant",
    "risk-officer",
    "it-support",
    "controller",
    "admin",
    "auditor",
]
# A demo chart in the style of SKR 03 (account classes 0 to 8): code, name, type, and what
# else the account is opened with (currency, balance constraint, credit limit). Parents come
# before their sub-accounts (1200 before 1200.10).
NO_OVERDRAFT = {"balance_constraint": "credits_must_not_exceed_debits"}
DEMO_CHART: list[tuple[str, str, str, dict[str, object]]] = [
    ("0027", "EDV-Software (software)", "asset", {}),
    ("0420", "Bueroeinrichtung (office equipment)", "asset", {}),
    ("0800", "Gezeichnetes Kapital (share capital)", "equity", {}),
    ("0860", "Gewinnvortrag (retained earnings)", "equity", {}),
    ("0970", "Sonstige Rueckstellungen (provisions)", "liability", {}),
    ("1000", "Kasse (cash)", "asset", NO_OVERDRAFT),
    ("1200", "Bank", "asset", {**NO_OVERDRAFT, "credit_limit": 1_000_000}),
    ("1200.10", "Bank USD-Konto (USD account)", "asset", {**NO_OVERDRAFT, "currency": "USD"}),
    ("1360", "Geldtransit (cash in transit)", "asset", {}),
    ("1400", "Forderungen aus L+L (receivables)", "asset", {}),
    ("1576", "Abziehbare Vorsteuer 19 % (input VAT)", "asset", {}),
    ("1600", "Verbindlichkeiten aus L+L (payables)", "liability", {}),
    ("1740", "Verbindlichkeiten aus Lohn und Gehalt (wages payable)", "liability", {}),
    ("1776", "Umsatzsteuer 19 % (output VAT)", "liability", {}),
    ("2100", "Zinsen und aehnliche Aufwendungen (interest expense)", "expense", {}),
    ("2650", "Sonstige Zinsen und aehnliche Ertraege (interest income)", "revenue", {}),
    ("3400", "Wareneingang 19 % Vorsteuer (purchases)", "expense", {}),
    ("4120", "Gehaelter (salaries)", "expense", {}),
    ("4130", "Gesetzliche soziale Aufwendungen (social security)", "expense", {}),
    ("4210", "Miete (rent)", "expense", {}),
    ("4600", "Werbekosten (advertising)", "expense", {}),
    ("4920", "Telefon (telephone)", "expense", {}),
    ("4930", "Buerobedarf (office supplies)", "expense", {}),
    ("4970", "Nebenkosten des Geldverkehrs (bank charges)", "expense", {}),
    ("8125", "Steuerfreie innergem. Lieferungen (EU sales, tax-free)", "revenue", {}),
    ("8300", "Erloese 7 % USt (revenue, reduced VAT)", "revenue", {}),
    ("8400", "Erloese 19 % USt (revenue)", "revenue", {}),
    ("8400.10", "Erloese 19 % USt Online-Shop (web shop revenue)", "revenue", {}),
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


def request(
    method: str, url: str, body: object, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def seed_ledger() -> None:
    """Open the demo chart through the gateway as the demo accountant (idempotent)."""
    gateway = f"http://127.0.0.1:{GATEWAY_PORT}"
    status, token = request(
        "POST",
        f"{gateway}/auth/login",
        {"username": "accountant", "password": "demo-accountant"},
        {},
    )
    if status != 200:
        raise SystemExit(f"demo login failed: {status} {token}")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    for code, name, kind, extra in DEMO_CHART:
        account = {"code": code, "name": name, "account_type": kind, "currency": "EUR", **extra}
        # The key names this exact account, so a changed demo chart is a new request: it then
        # meets the account already open (409) instead of a reused key.
        fingerprint = hashlib.sha256(json.dumps(account, sort_keys=True).encode()).hexdigest()
        status, body = request(
            "POST",
            f"{gateway}/ledger/v1/accounts",
            account,
            {**auth, "Idempotency-Key": f"demo-chart-{code}-{fingerprint[:12]}"},
        )
        if status not in (201, 409):
            raise SystemExit(f"seeding account {code} failed: {status} {body}")


def start_services(procs: list[subprocess.Popen[bytes]]) -> None:
    """Migrate, seed operators, start each service and wait until healthy, seed the chart."""
    for name in [*SERVICES, "gateway"]:
        sh(PY, "-m", name, "migrate", env=service_env(name))
    sh(PY, "-m", "gateway", "seed-demo", env=service_env("gateway"))
    for name, port in [*SERVICES.items(), ("gateway", GATEWAY_PORT)]:
        command = [PY, "-m", "uvicorn", "--factory", f"{name}.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **service_env(name)})
        procs.append(proc)
        wait_healthy(port, name, proc)
    seed_ledger()


def demo_api_key() -> str:
    """The demo system's API key, written by the gateway's seed-demo when it made the key."""
    key_file = DATA / "keys" / "demo-api-key.txt"
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
                       risk-officer, it-support, controller)
  Demo system         trading-system (role trader), API key: {demo_api_key()}
                      (send it as X-API-Key: <key> or Authorization: ApiKey <key>)
  Ledger (internal)   http://127.0.0.1:{SERVICES["ledger"]} (only accepts the gateway's calls)
  Kafka               {service_env("ledger")["KAFKA_BOOTSTRAP_SERVERS"]}
                      topics ledger.events, gateway.events, gateway.audit
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

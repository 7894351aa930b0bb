"""The demo data of `make run`, entered through the gateway as the demo operators would.

Every request carries an Idempotency-Key derived from its content, so seeding again after a
restart changes nothing, and a changed demo set is a new request (which then meets the existing
thing, a 409, instead of a reused key).
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request

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


class Demo:
    """Calls the gateway as one demo operator after another."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self._tokens: dict[str, str] = {}

    def login(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            status, body = request(
                "POST",
                f"{self.gateway}/auth/login",
                {"username": username, "password": f"demo-{username}"},
                {},
            )
            if status != 200:
                raise SystemExit(f"demo login of {username} failed: {status} {body}")
            self._tokens[username] = str(body["access_token"])
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def call(
        self,
        username: str,
        method: str,
        path: str,
        body: object,
        *,
        ok: tuple[int, ...] = (200, 201, 409),
        key: str | None = None,
    ) -> dict[str, object]:
        """One request as ``username``; the Idempotency-Key is derived from path and body."""
        fingerprint = hashlib.sha256(json.dumps([path, body], sort_keys=True).encode()).hexdigest()
        headers = {**self.login(username), "Idempotency-Key": key or f"demo-{fingerprint[:24]}"}
        status, answer = request(method, f"{self.gateway}{path}", body, headers)
        if status not in ok:
            raise SystemExit(f"demo {method} {path} as {username} failed: {status} {answer}")
        return answer


def request(
    method: str, url: str, body: object, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def seed_ledger(demo: Demo) -> None:
    """The demo chart of accounts, opened by the demo accountant."""
    for code, name, kind, extra in DEMO_CHART:
        account = {"code": code, "name": name, "account_type": kind, "currency": "EUR", **extra}
        demo.call(
            "accountant",
            "POST",
            "/ledger/v1/accounts",
            account,
            key=f"demo-chart-{code}-"
            + hashlib.sha256(json.dumps(account, sort_keys=True).encode()).hexdigest()[:12],
        )


def seed_tickets(demo: Demo) -> None:
    """Two IT supporters in the default queue (round-robin needs two) and two tickets from the
    front office."""
    queue_id = None
    for _ in range(100):  # the service creates the default queue at start; wait for its view
        items = demo.call("admin", "GET", "/tickets/v1/queues", None).get("items")
        assert isinstance(items, list)
        queue_id = next((q["queue_id"] for q in items if q["name"] == "it-support"), None)
        if queue_id:
            break
        time.sleep(0.1)
    if queue_id is None:
        raise SystemExit("the tickets service has no default queue it-support")
    for member in ("it-support", "it-support-2"):
        demo.call(
            "admin",
            "POST",
            f"/tickets/v1/queues/{queue_id}/members",
            {"member": member},
            ok=(200, 201, 409, 422),
        )
    for username, ticket in DEMO_TICKETS:
        demo.call(username, "POST", "/tickets/v1/tickets", ticket)


DEMO_TICKETS = [
    (
        "trader",
        {
            "ticket_type": "incident",
            "impact": 2,
            "urgency": 1,
            "title": "Market data screen freezes every few minutes",
            "description": "Since this morning the rates screen stops updating.",
            "configuration_item": "host:trade-ws-17",
        },
    ),
    (
        "customer-service",
        {
            "ticket_type": "service_request",
            "impact": 4,
            "urgency": 3,
            "title": "Second monitor for the new colleague",
            "category": "hardware",
        },
    ),
]

DEMO_RISKS = [
    {
        "title": "Counterparty default of a large corporate client",
        "category": "credit",
        "owner": "risk-officer",
        "likelihood": 2,
        "impact": 5,
    },
    {
        "title": "Outage of the trading platform",
        "category": "it",
        "owner": "it-support",
        "likelihood": 3,
        "impact": 4,
    },
    {
        "title": "Interest rate shock on the banking book",
        "category": "market",
        "owner": "risk-officer",
        "likelihood": 3,
        "impact": 3,
    },
]


def seed_risk(demo: Demo) -> None:
    """A small register, a four-eyes approved limit for one counterparty (requested by
    risk-officer, approved by risk-officer-2), and a KRI fed by monitoring."""
    for risk in DEMO_RISKS:
        demo.call("risk-officer", "POST", "/risk/v1/risks", risk)
    limit = demo.call(
        "risk-officer",
        "POST",
        "/risk/v1/limits",
        {
            "dimension": "counterparty",
            "counterparty": "ACME GmbH",
            "currency": "EUR",
            "amount": 5_000_000,
            "reason": "demo: credit line for ACME GmbH",
        },
    )
    demo.call(
        "risk-officer-2",
        "POST",
        f"/risk/v1/limits/{limit['id']}/approval",
        {},
        ok=(200, 201, 403, 404, 409),
    )
    demo.call(
        "risk-officer",
        "POST",
        "/risk/v1/kris",
        {
            "kri_id": "failed-payments",
            "name": "Failed payments per day",
            "unit": "count",
            "direction": "higher_is_worse",
            "amber": 5,
            "red": 20,
            "owner": "risk-officer",
        },
    )


def seed(gateway: str) -> None:
    demo = Demo(gateway)
    seed_ledger(demo)
    seed_tickets(demo)
    seed_risk(demo)

"""The demo data of `make run`, entered through the gateway as the demo operators would: a
chart of accounts with a month of postings (deploy/demo_month.py) and deals waiting for
approval, tickets in every state, a risk register spread over the heat map, limits (one close
to its warning threshold) and KRIs with a history.

Every request carries an Idempotency-Key, so seeding again after a restart changes nothing.
Most keys derive from the request's content (a changed demo set is a new request, which then
meets the existing thing, a 409). Dated things (postings, measurements) have keys of their own
(voucher number, KRI and index): seeded again in a later month, the key comes back with another
date, the service answers 422 IdempotencyKeyReused, and what was seeded first is kept.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta

from demo_month import Entry, month_entries, open_requests

# A demo chart in the style of SKR 03 (account classes 0 to 8): code, name, type, and what
# else the account is opened with (currency, balance constraint, credit limit). Parents come
# before their sub-accounts (1200 before 1200.10).
NO_OVERDRAFT: dict[str, object] = {"balance_constraint": "credits_must_not_exceed_debits"}
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
        if status == 422 and answer.get("code") == "IdempotencyKeyReused":
            return answer  # seeded before with other dates: kept as it is
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
    """The demo chart of accounts, opened by the demo accountant, with a month of postings and
    the trader's deals waiting for approval."""
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
    accounts = account_ids(demo, {code for code, *_ in DEMO_CHART})
    today = datetime.now(UTC).date()
    for entry in month_entries():
        body = entry_body(entry, accounts, today)
        key = f"demo-entry-{entry.voucher_number}"
        demo.call("accountant", "POST", "/ledger/v1/journal-entries", body, key=key)
    for entry in open_requests():
        body = entry_body(entry, accounts, today)
        key = f"demo-request-{entry.voucher_number}"
        demo.call("trader", "POST", "/ledger/v1/booking-requests", body, key=key)


def account_ids(demo: Demo, codes: set[str]) -> dict[str, str]:
    """Account id per code, once the ledger's read model shows every account of the chart."""
    found: dict[str, str] = {}
    for _ in range(150):
        found, cursor = {}, None
        while True:
            query = "?limit=200" + (f"&cursor={cursor}" if cursor else "")
            page = demo.call("accountant", "GET", f"/ledger/v1/accounts{query}", None)
            items = page.get("items")
            assert isinstance(items, list)
            found.update({str(item["code"]): str(item["account_id"]) for item in items})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if codes <= found.keys():
            return found
        time.sleep(0.2)
    raise SystemExit(f"the ledger does not show accounts {sorted(codes - found.keys())}")


def entry_body(entry: Entry, accounts: dict[str, str], today: date) -> dict[str, object]:
    return {
        "voucher_number": entry.voucher_number,
        "booking_date": entry.booking_date(today).isoformat(),
        "text": entry.text,
        "source_document": f"demo/{entry.voucher_number}.pdf",
        "metadata": entry.metadata,
        "lines": [
            {"account_id": accounts[code], "side": side, "amount": amount, "currency": "EUR"}
            for code, side, amount in entry.lines
        ],
    }


def seed_tickets(demo: Demo) -> None:
    """Two IT supporters in the default queue (round-robin needs two) and tickets from the
    front office in every state; a priority-1 incident waits unassigned, so its SLA is the
    next to be warned about."""
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
    for username, ticket, path in DEMO_TICKETS:
        opened = demo.call(username, "POST", "/tickets/v1/tickets", ticket)
        if "id" not in opened:
            continue  # opened before under another key: leave it where it is
        tickets = f"/tickets/v1/tickets/{opened['id']}"
        if path:
            demo.call("it-support", "POST", f"{tickets}/assignment", {})
        for status, reason in path:
            body = {"to": status, "reason": reason}
            demo.call("it-support", "POST", f"{tickets}/transitions", body)


# (requester, ticket, the states it then goes through with their reasons)
DEMO_TICKETS: list[tuple[str, dict[str, object], list[tuple[str, str]]]] = [
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
        [("open", "investigating the feed handler")],
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
        [("pending", "waiting for the cost centre from the requester")],
    ),
    (
        "customer-service",
        {
            "ticket_type": "incident",
            "impact": 1,
            "urgency": 1,
            "title": "Customer portal rejects every log-in",
            "description": "All customers get 'invalid session' since 10 minutes.",
            "configuration_item": "service:customer-portal",
        },
        [],
    ),
    (
        "trader",
        {
            "ticket_type": "incident",
            "impact": 3,
            "urgency": 3,
            "title": "Excel add-in for rate quotes crashes on start",
            "category": "software",
        },
        [],
    ),
    (
        "customer-service",
        {
            "ticket_type": "service_request",
            "impact": 4,
            "urgency": 2,
            "title": "Password reset for the CRM",
            "category": "access",
        },
        [("resolved", "password reset, user informed")],
    ),
    (
        "trader",
        {
            "ticket_type": "incident",
            "impact": 4,
            "urgency": 4,
            "title": "Printer on floor 3 jams",
            "configuration_item": "printer:floor3-east",
        },
        [("resolved", "roller replaced"), ("closed", "confirmed by the requester")],
    ),
    (
        "trader",
        {
            "ticket_type": "service_request",
            "impact": 4,
            "urgency": 4,
            "title": "VPN token for the home office",
            "category": "access",
        },
        [("cancelled", "requester already has a token")],
    ),
]

# (risk, controls): spread over the heat map; some with controls that lower the residual cell.
DEMO_RISKS: list[tuple[dict[str, object], list[dict[str, object]]]] = [
    (
        {
            "title": "Counterparty default of a large corporate client",
            "category": "credit",
            "owner": "risk-officer",
            "likelihood": 2,
            "impact": 5,
        },
        [],
    ),
    (
        {
            "title": "Outage of the trading platform",
            "category": "it",
            "owner": "it-support",
            "likelihood": 3,
            "impact": 4,
        },
        [{"name": "Hot standby data centre", "effectiveness": "strong", "reduces": "impact"}],
    ),
    (
        {
            "title": "Interest rate shock on the banking book",
            "category": "market",
            "owner": "risk-officer",
            "likelihood": 3,
            "impact": 3,
        },
        [{"name": "Hedging programme", "effectiveness": "moderate", "reduces": "impact"}],
    ),
    (
        {
            "title": "Fraudulent payment instruction (CEO fraud)",
            "category": "operational",
            "owner": "controller",
            "likelihood": 2,
            "impact": 4,
        },
        [{"name": "Call-back on new payees", "effectiveness": "strong", "reduces": "likelihood"}],
    ),
    (
        {
            "title": "Ransomware encrypts the file servers",
            "category": "it",
            "owner": "it-support",
            "likelihood": 3,
            "impact": 5,
        },
        [
            {
                "name": "Offline backups, tested monthly",
                "effectiveness": "moderate",
                "reduces": "impact",
            },
            {"name": "E-mail attachment sandbox", "effectiveness": "weak", "reduces": "likelihood"},
        ],
    ),
    (
        {
            "title": "Key person dependency in settlement",
            "category": "operational",
            "owner": "controller",
            "likelihood": 4,
            "impact": 2,
        },
        [],
    ),
    (
        {
            "title": "Liquidity squeeze at quarter end",
            "category": "liquidity",
            "owner": "risk-officer",
            "likelihood": 2,
            "impact": 3,
        },
        [],
    ),
    (
        {
            "title": "USD account loses value against EUR",
            "category": "market",
            "owner": "risk-officer",
            "likelihood": 4,
            "impact": 3,
        },
        [],
    ),
    (
        {
            "title": "Retention of books shorter than GoBD requires",
            "category": "compliance",
            "owner": "controller",
            "likelihood": 1,
            "impact": 4,
        },
        [],
    ),
    (
        {
            "title": "Late regulatory reporting",
            "category": "compliance",
            "owner": "controller",
            "likelihood": 2,
            "impact": 2,
        },
        [],
    ),
]

# (counterparty, amount in cents): each requested by risk-officer, approved by risk-officer-2.
DEMO_LIMITS = [
    ("ACME GmbH", 5_000_000, "demo: credit line for ACME GmbH"),
    ("Nordwind Logistik AG", 20_000_000, "demo: credit line for Nordwind Logistik AG"),
    ("Hanse Trading KG", 10_000_000, "demo: credit line for Hanse Trading KG"),
]

# (definition, measurements oldest first, one a day up to today)
DEMO_KRIS: list[tuple[dict[str, object], list[float]]] = [
    (
        {
            "kri_id": "failed-payments",
            "name": "Failed payments per day",
            "unit": "count",
            "direction": "higher_is_worse",
            "amber": 5,
            "red": 20,
            "owner": "risk-officer",
        },
        [1, 2, 0, 3, 2, 4, 3, 5, 6],  # amber now
    ),
    (
        {
            "kri_id": "payment-stp-rate",
            "name": "Payments processed without manual touch",
            "unit": "%",
            "direction": "lower_is_worse",
            "amber": 95,
            "red": 90,
            "owner": "risk-officer",
        },
        [98.1, 97.6, 97.9, 98.4, 97.2, 97.8],
    ),
    (
        {
            "kri_id": "reconciliation-breaks",
            "name": "Open reconciliation breaks",
            "unit": "count",
            "direction": "higher_is_worse",
            "amber": 10,
            "red": 25,
            "owner": "controller",
        },
        [3, 4, 2, 5, 4],
    ),
]


def seed_risk(demo: Demo) -> None:
    """The register, four-eyes approved limits (requested by risk-officer, approved by
    risk-officer-2) and KRIs with a history measured by monitoring."""
    for risk, controls in DEMO_RISKS:
        identified = demo.call("risk-officer", "POST", "/risk/v1/risks", risk)
        if "id" not in identified:
            continue  # identified before under another key: leave it as it is
        for control in controls:
            path = f"/risk/v1/risks/{identified['id']}/controls"
            demo.call("risk-officer", "POST", path, control)
    for counterparty, amount, reason in DEMO_LIMITS:
        limit = demo.call(
            "risk-officer",
            "POST",
            "/risk/v1/limits",
            {
                "dimension": "counterparty",
                "counterparty": counterparty,
                "currency": "EUR",
                "amount": amount,
                "reason": reason,
            },
        )
        if "id" in limit:
            demo.call(
                "risk-officer-2",
                "POST",
                f"/risk/v1/limits/{limit['id']}/approval",
                {},
                ok=(200, 201, 403, 404, 409),
            )
    now = datetime.now(UTC).replace(microsecond=0)
    for kri, values in DEMO_KRIS:
        demo.call("risk-officer", "POST", "/risk/v1/kris", kri)
        for index, value in enumerate(values):
            measured_at = now - timedelta(days=len(values) - 1 - index)
            demo.call(
                "monitoring",
                "POST",
                f"/risk/v1/kris/{kri['kri_id']}/measurements",
                {"value": value, "measured_at": measured_at.isoformat()},
                key=f"demo-kri-{kri['kri_id']}-{index}",
            )


def seed(gateway: str) -> None:
    demo = Demo(gateway)
    seed_ledger(demo)
    seed_tickets(demo)
    seed_risk(demo)

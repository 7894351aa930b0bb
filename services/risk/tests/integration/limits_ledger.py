"""A real ledger beside the risk service, on the same topic namespace, for the limits tests:
its settings, signed ledger identities, entries with counterparty/desk metadata, and an
independent recomputation of exposures from the ledger's stored events."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import sqlalchemy as sa
from ledger.__main__ import MIGRATIONS as LEDGER_MIGRATIONS
from ledger.bootstrap import LedgerSettings
from ledger.main import create_app as create_ledger_app
from shared_kernel import schema
from shared_kernel.db import create_engine
from shared_kernel.identity import IDENTITY_HEADER, Caller, IdentitySigner
from shared_kernel.migrations import upgrade
from shared_kernel.testing import CreateDatabase

ExposureTotals = dict[tuple[str, str | None, str | None, str], tuple[int, int]]


async def ledger_settings_for(
    create_database: CreateDatabase, kafka: str, namespace: str, keys: tuple[Path, Path]
) -> LedgerSettings:
    url = await create_database("ledger")
    await asyncio.to_thread(upgrade, url, LEDGER_MIGRATIONS)
    return LedgerSettings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka,
        topic_namespace=namespace,
        identity_public_key_file=keys[1],
        run_expiry_sweeper=False,
    )


class LedgerCaller:
    """Signed ledger identities (audience ``ledger``)."""

    def __init__(self, signer: IdentitySigner) -> None:
        self._signer = signer

    def __call__(
        self, role: str, office: str = "back", subject: str | None = None
    ) -> dict[str, str]:
        identity = Caller(
            subject=subject or f"user:{role}",
            roles=frozenset({role}),
            office=office,
            request_id=str(uuid4()),
        )
        return {IDENTITY_HEADER: self._signer.sign(identity, audience="ledger")}


@contextlib.asynccontextmanager
async def running_ledger(settings: LedgerSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_ledger_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ledger", timeout=60
        ) as client:
            yield client


class Books:
    """Two accounts to book deals between, and helpers that post, submit and decide."""

    def __init__(self, client: httpx.AsyncClient, as_ledger: LedgerCaller) -> None:
        self.client = client
        self.accountant = as_ledger("accountant")
        self.controller = as_ledger("controller")
        self.trader = as_ledger("trader", "front")
        self.receivable = ""
        self.revenue = ""
        self._voucher = 0

    async def open(self) -> Books:
        for code, kind in (("1400", "asset"), ("8000", "revenue")):
            response = await self.client.post(
                "/v1/accounts",
                json={"code": code, "name": f"A {code}", "account_type": kind, "currency": "EUR"},
                headers=self.accountant,
            )
            assert response.status_code == 201, response.text
            if kind == "asset":
                self.receivable = response.json()["id"]
            else:
                self.revenue = response.json()["id"]
        return self

    def entry(self, amount: int, **metadata: str) -> dict[str, Any]:
        self._voucher += 1
        return {
            "voucher_number": f"D-{self._voucher}",
            "booking_date": "2026-11-26",
            "text": f"Deal {self._voucher}",
            "metadata": metadata,
            "lines": [
                {
                    "account_id": self.receivable,
                    "side": "debit",
                    "amount": amount,
                    "currency": "EUR",
                },
                {"account_id": self.revenue, "side": "credit", "amount": amount, "currency": "EUR"},
            ],
        }

    async def post(self, amount: int, **metadata: str) -> str:
        response = await self.client.post(
            "/v1/journal-entries", json=self.entry(amount, **metadata), headers=self.accountant
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def post_many(self, amounts: list[int], **metadata: str) -> list[str]:
        response = await self.client.post(
            "/v1/journal-entry-batches",
            json={"entries": [self.entry(a, **metadata) for a in amounts]},
            headers=self.accountant,
        )
        assert response.status_code == 201, response.text
        return list(response.json()["entry_ids"])

    async def submit(self, amount: int, **metadata: str) -> str:
        response = await self.client.post(
            "/v1/booking-requests", json=self.entry(amount, **metadata), headers=self.trader
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def approve(self, request_id: str) -> str:
        """Approve once risk has answered (a deal needs its clearance first)."""
        for _ in range(300):
            request = await self.client.get(
                f"/v1/booking-requests/{request_id}", headers=self.accountant
            )
            if request.json()["clearance"]["status"] != "awaiting":
                break
            await asyncio.sleep(0.1)
        response = await self.client.post(
            f"/v1/booking-requests/{request_id}/approval", headers=self.accountant
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def reject(self, request_id: str) -> None:
        response = await self.client.post(
            f"/v1/booking-requests/{request_id}/rejection",
            json={"reason": "no"},
            headers=self.controller,
        )
        assert response.status_code == 200, response.text

    async def reverse(self, entry_id: str) -> str:
        response = await self.client.post(
            f"/v1/journal-entries/{entry_id}/reversal",
            json={"reason": "wrong deal"},
            headers=self.accountant,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def _keys(metadata: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    cp = (metadata.get("counterparty") or "").strip() or None
    desk = (metadata.get("desk") or "").strip() or None
    keys: list[tuple[str, str | None, str | None]] = []
    if cp:
        keys.append(("counterparty", cp, None))
    if desk:
        keys.append(("desk", None, desk))
    if cp and desk:
        keys.append(("counterparty_desk", cp, desk))
    return keys


async def recompute_exposures(ledger_database_url: str) -> ExposureTotals:
    """Exposures from the ledger's stored events, computed from the end state rather than
    event by event: posted = entries neither reversed nor reversals; pending = requests
    submitted and not decided. Gross amount = sum of debit lines per currency."""
    engine = create_engine(ledger_database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(schema.events.c.event_type, schema.events.c.data).order_by(
                        schema.events.c.position
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    entries = [d for t, d in rows if t == "ledger.JournalEntryPosted"]
    reversed_ids = {d["reverses"] for d in entries if d.get("reverses")}
    submitted = {d["request_id"]: d for t, d in rows if t == "ledger.BookingRequestSubmitted"}
    decided = {
        d["request_id"]
        for t, d in rows
        if t
        in (
            "ledger.BookingRequestApproved",
            "ledger.BookingRequestRejected",
            "ledger.BookingRequestExpired",
        )
    }
    totals: defaultdict[tuple[str, str | None, str | None, str], list[int]] = defaultdict(
        lambda: [0, 0]
    )

    def count(data: dict[str, Any], slot: int) -> None:
        for line in data["lines"]:
            if line["side"] != "debit":
                continue
            for dimension, cp, desk in _keys(data.get("metadata") or {}):
                totals[(dimension, cp, desk, line["currency"])][slot] += line["amount"]

    for data in entries:
        if not data.get("reverses") and data["entry_id"] not in reversed_ids:
            count(data, 0)
    for request_id, data in submitted.items():
        if request_id not in decided:
            count(data, 1)
    return {k: (v[0], v[1]) for k, v in totals.items() if v != [0, 0]}

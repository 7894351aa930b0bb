"""The steady load of the campaign: journal entries by an accountant and deals (booking
requests) by the trader system's API key, through the gateway, each with its own
Idempotency-Key, a few per second, bounded in number. Every answer is booked as an
``Outcome``; nothing is retried, so that the table counts what a client saw."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.faults.accounting import Outcome
from tests.faults.reconcile import KEY_MARK

REQUEST_TIMEOUT_S = 20.0  # beyond the gateway's own deadline: the gateway answers first


@dataclass
class Party:
    """Who the load books for: its two accounts (receivable, revenue) and counterparty, whose
    limit at risk measures every entry and deal of the campaign."""

    accounts: tuple[str, str]
    counterparty: str


@dataclass
class Load:
    gateway: httpx.AsyncClient
    party: Party
    accountant: dict[str, str]  # its bearer token; renewed each row (tokens live 15 min)
    trader_system: dict[str, str]  # its API key
    interval_s: float = 0.5  # per kind: two kinds, about four commands a second
    max_requests: int = 400
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def body(self, amount: int, text: str) -> dict[str, Any]:
        debit, credit = self.party.accounts
        return {
            "voucher_number": f"F-{uuid.uuid4().hex[:12]}",
            "booking_date": datetime.now(UTC).date().isoformat(),
            "text": text,  # "... key <Idempotency-Key>": reconcile.key_in finds it
            "metadata": {"counterparty": self.party.counterparty, "desk": "faults"},
            "lines": [
                {"account_id": debit, "side": "debit", "amount": amount, "currency": "EUR"},
                {"account_id": credit, "side": "credit", "amount": amount, "currency": "EUR"},
            ],
        }

    async def send(self, kind: str) -> Outcome:
        amount = random.randint(1, 10_000)
        key = f"faults-{uuid.uuid4()}"
        path, auth, text = {
            "entry": ("/ledger/v1/journal-entries", self.accountant, "Fault campaign entry"),
            "deal": ("/ledger/v1/booking-requests", self.trader_system, "Fault campaign deal"),
        }[kind]
        headers = {**auth, "Idempotency-Key": key}
        body = self.body(amount, f"{text} {KEY_MARK}{key}")
        try:
            answer = await self.gateway.post(
                path, json=body, headers=headers, timeout=REQUEST_TIMEOUT_S
            )
        except httpx.HTTPError as failure:
            return Outcome(kind, key, amount, None, failure=type(failure).__name__, at=now())
        resource_id = None
        if answer.status_code < 300:
            resource_id = str(answer.json().get("id") or "") or None
        return Outcome(kind, key, amount, answer.status_code, resource_id, at=now())

    async def _worker(self, kind: str, into: list[Outcome]) -> None:
        while not self._stop.is_set() and len(into) < self.max_requests:
            into.append(await self.send(kind))
            with contextlib.suppress(TimeoutError):  # the pace, unless stopped meanwhile
                await asyncio.wait_for(self._stop.wait(), self.interval_s)

    async def run_until_stopped(self, into: list[Outcome]) -> None:
        """Both kinds side by side until ``stop`` (or the bound is reached)."""
        self._stop.clear()
        await asyncio.gather(self._worker("entry", into), self._worker("deal", into))

    def stop(self) -> None:
        self._stop.set()


def now() -> float:
    return time.monotonic()


def first_acknowledged_after(outcomes: list[Outcome], moment: float) -> float | None:
    """Seconds from ``moment`` to the first command acknowledged after it (None: none was)."""
    later = [o.at for o in outcomes if o.acknowledged and o.at >= moment]
    return min(later) - moment if later else None

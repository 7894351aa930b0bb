"""The office as one, told as a story through the gateway (issue 12): the steps the e2e story
test and the fault tests share. Each step waits for what the services do on their own (risk
clears a deal, tickets opens an incident) by polling the read side, with a deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .conftest import login

Json = dict[str, Any]
Headers = dict[str, str]
DEADLINE_S = 60.0


def ok(response: httpx.Response, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


async def eventually(
    what: str,
    read: Callable[[], Awaitable[Json]],
    done: Callable[[Json], bool],
    deadline_s: float = DEADLINE_S,
) -> Json:
    """Read until ``done`` holds (the services work asynchronously); fail naming ``what``."""
    until = time.monotonic() + deadline_s
    last: Json = {}
    while time.monotonic() < until:
        last = await read()
        if done(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not reached in {deadline_s} s; last seen {last}")


@dataclass
class Office:
    """The people of the story, logged in, and the accounts and names it uses."""

    gateway: httpx.AsyncClient
    trader: Headers
    accountant: Headers
    officer: Headers
    second_officer: Headers
    auditor: Headers
    counterparty: str = field(default_factory=lambda: f"ACME-{uuid.uuid4().hex[:6]}")
    accounts: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, gateway: httpx.AsyncClient) -> Office:
        office = cls(
            gateway,
            trader=await login(gateway, "trader"),
            accountant=await login(gateway, "accountant"),
            officer=await login(gateway, "risk-officer"),
            second_officer=await login(gateway, "risk-officer-2"),
            auditor=await login(gateway, "auditor"),
        )
        number = uuid.uuid4().int % 10**6
        for code, name, kind in [
            (f"14{number:06d}", "Receivables", "asset"),
            (f"84{number:06d}", "Revenue", "revenue"),
        ]:
            opened = ok(
                await gateway.post(
                    "/ledger/v1/accounts",
                    json={"code": code, "name": name, "account_type": kind, "currency": "EUR"},
                    headers=office.accountant,
                ),
                201,
            )
            office.accounts.append(str(opened["id"]))
        return office

    def _entry(self, amount: int, text: str) -> Json:
        return {
            "voucher_number": f"D-{uuid.uuid4().hex[:10]}",
            "booking_date": datetime.now(UTC).date().isoformat(),
            "text": text,
            "metadata": {"counterparty": self.counterparty, "desk": "rates"},
            "lines": [
                {
                    "account_id": self.accounts[0],
                    "side": "debit",
                    "amount": amount,
                    "currency": "EUR",
                },
                {
                    "account_id": self.accounts[1],
                    "side": "credit",
                    "amount": amount,
                    "currency": "EUR",
                },
            ],
        }

    # -- limits ---------------------------------------------------------------------------------

    async def limit(self, amount: int) -> str:
        """A counterparty limit requested by one risk officer and approved by a second."""
        requested = ok(
            await self.gateway.post(
                "/risk/v1/limits",
                json={
                    "dimension": "counterparty",
                    "counterparty": self.counterparty,
                    "currency": "EUR",
                    "amount": amount,
                    "reason": "new client, credit committee",
                },
                headers=self.officer,
            ),
            201,
        )
        limit_id = str(requested["id"])
        await self.approve_limit(limit_id)
        return limit_id

    async def raise_limit(self, limit_id: str, amount: int) -> httpx.Response:
        ok(
            await self.gateway.post(
                f"/risk/v1/limits/{limit_id}/change-requests",
                json={"amount": amount, "reason": "credit committee raised the line"},
                headers=self.officer,
            )
        )
        return await self.approve_limit(limit_id)

    async def approve_limit(self, limit_id: str) -> httpx.Response:
        own = await self.gateway.post(
            f"/risk/v1/limits/{limit_id}/approval", json={}, headers=self.officer
        )
        assert own.status_code == 403, own.text  # four eyes: never the requester
        approved = await self.gateway.post(
            f"/risk/v1/limits/{limit_id}/approval", json={}, headers=self.second_officer
        )
        assert approved.status_code == 200, approved.text
        return approved

    async def limit_view(self, limit_id: str) -> Json:
        return ok(await self.gateway.get(f"/risk/v1/limits/{limit_id}", headers=self.officer))

    async def exposure_is(self, limit_id: str, total: int) -> Json:
        return await eventually(
            f"exposure {total} on limit {limit_id}",
            lambda: self.limit_view(limit_id),
            lambda limit: bool(limit["exposure"]["total"] == total),
        )

    # -- deals ----------------------------------------------------------------------------------

    async def submit_deal(self, amount: int) -> httpx.Response:
        """A trader's booking request for the counterparty: a deal, which risk must clear."""
        submitted = await self.gateway.post(
            "/ledger/v1/booking-requests",
            json=self._entry(amount, f"Deal with {self.counterparty}"),
            headers=self.trader,
        )
        assert submitted.status_code == 201, submitted.text
        return submitted

    async def request_view(self, request_id: str) -> Json:
        """The request as the back office reads it, once the read model has it."""
        view = await eventually(
            f"booking request {request_id} in the read model",
            lambda: self._request_or_nothing(request_id),
            bool,
        )
        return view

    async def _request_or_nothing(self, request_id: str) -> Json:
        found = await self.gateway.get(
            f"/ledger/v1/booking-requests/{request_id}", headers=self.accountant
        )
        return {} if found.status_code == 404 else ok(found)

    async def clearance_is(self, request_id: str, status: str) -> Json:
        return await eventually(
            f"booking request {request_id} {status}",
            lambda: self._request_or_nothing(request_id),
            lambda view: bool(view and view["clearance"]["status"] == status),
        )

    async def approve(self, request_id: str) -> httpx.Response:
        return await self.gateway.post(
            f"/ledger/v1/booking-requests/{request_id}/approval", json={}, headers=self.accountant
        )

    async def post_entry(self, amount: int) -> httpx.Response:
        """An accountant's direct journal entry for the counterparty (posted exposure)."""
        posted = await self.gateway.post(
            "/ledger/v1/journal-entries",
            json=self._entry(amount, f"Settlement with {self.counterparty}"),
            headers=self.accountant,
        )
        assert posted.status_code == 201, posted.text
        return posted

    async def reverse(self, entry_id: str) -> httpx.Response:
        reversed_ = await self.gateway.post(
            f"/ledger/v1/journal-entries/{entry_id}/reversal",
            json={"reason": "booked twice by mistake"},
            headers=self.accountant,
        )
        assert reversed_.status_code == 201, reversed_.text
        return reversed_

    # -- breaches and incidents -----------------------------------------------------------------

    async def breach_of(self, limit_id: str) -> Json:
        """The (one) breach of the limit, from risk's breach report."""

        async def read() -> Json:
            return ok(
                await self.gateway.get(
                    "/risk/v1/reports/breaches",
                    params={
                        "from": "2000-01-01T00:00:00Z",
                        "to": "2100-01-01T00:00:00Z",
                        "limit_id": limit_id,
                        "kind": ["breached"],
                    },
                    headers=self.officer,
                )
            )

        report = await eventually(f"a breach of {limit_id}", read, lambda r: len(r["items"]) >= 1)
        assert len(report["items"]) == 1, report
        breach: Json = report["items"][0]
        return breach

    async def incidents_of(self, breach_id: str) -> list[Json]:
        page = ok(
            await self.gateway.get(
                "/tickets/v1/tickets",
                params={"queue": "risk-limits", "limit": 200},
                headers=self.officer,
            )
        )
        return [t for t in page["items"] if (t.get("origin") or {}).get("id") == breach_id]

    async def incident_for(self, breach_id: str, status: str | None = None) -> Json:
        async def read() -> Json:
            found = await self.incidents_of(breach_id)
            return {"items": found}

        def done(page: Json) -> bool:
            items = page["items"]
            return bool(items) and (status is None or items[0]["status"] == status)

        found = await eventually(f"the incident of breach {breach_id}", read, done)
        assert len(found["items"]) == 1, found  # one incident per breach
        incident: Json = found["items"][0]
        return incident

    async def notes_of(self, ticket_id: str) -> list[Json]:
        conversation = ok(
            await self.gateway.get(
                f"/tickets/v1/tickets/{ticket_id}/conversation", headers=self.officer
            )
        )
        return [m for m in conversation["items"] if m["internal"]]

    async def record_measures(self, breach_id: str, measures: str) -> httpx.Response:
        recorded = await self.gateway.post(
            f"/risk/v1/limit-breaches/{breach_id}/measures",
            json={"measures": measures},
            headers=self.officer,
        )
        assert recorded.status_code == 200, recorded.text
        return recorded

    # -- the case timeline ----------------------------------------------------------------------

    async def case(self, correlation_id: str, auth: Headers | None = None) -> httpx.Response:
        return await self.gateway.get(f"/cases/{correlation_id}", headers=auth or self.auditor)

    async def case_types(self, correlation_id: str, *wanted: str) -> list[str]:
        """The case's event types, once every ``wanted`` type is in it."""

        async def read() -> Json:
            return ok(await self.case(correlation_id))

        def done(case: Json) -> bool:
            types = {e["type"] for e in case["events"]}
            return all(w in types for w in wanted)

        case = await eventually(f"case {correlation_id} with {wanted}", read, done)
        return [str(e["type"]) for e in case["events"]]


def in_order_once(types: list[str], steps: list[str]) -> None:
    """Each step appears exactly once in ``types``, and the steps in this order."""
    for step in steps:
        assert types.count(step) == 1, (step, types)
    positions = [types.index(step) for step in steps]
    assert positions == sorted(positions), list(zip(steps, positions, strict=True))

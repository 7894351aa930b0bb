"""The whole story of issue 12 through the gateway: a trader's deal cleared by risk and
approved, a second deal refused until a risk officer raises the limit (four eyes), then cleared
by the re-check and approved; a posting breaches the limit, an incident opens in
``risk-limits``, the officer's measures appear on it, a reversal brings the exposure back and
the incident resolves. The case timelines show every step once, in order, to those who may see
them."""

from __future__ import annotations

import httpx
import pytest

from .conftest import System, login
from .office_story import Office, in_order_once, ok

pytestmark = pytest.mark.e2e

LIMIT = 100_000  # minor units: EUR 1,000.00
RAISED = 150_000


async def test_a_deal_goes_from_trader_to_risk_to_books_and_a_breach_to_an_incident(
    system: System,
) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        office = await Office.open(gateway)
        limit_id = await office.limit(LIMIT)

        # A trader's deal, cleared by risk, approved by an accountant: exposure rises.
        first = (await office.submit_deal(40_000)).json()["id"]
        cleared = await office.clearance_is(first, "cleared")
        assert cleared["status"] == "pending"
        ok(await office.approve(first))
        await office.exposure_is(limit_id, 40_000)

        # A second deal does not fit: refused, and its approval says why.
        submitted = await office.submit_deal(80_000)
        second, case = submitted.json()["id"], submitted.headers["X-Request-Id"]
        refused = await office.clearance_is(second, "refused")
        assert refused["clearance"]["limit_id"] == limit_id
        assert refused["clearance"]["shortfall"] == 20_000
        blocked = await office.approve(second)
        assert (blocked.status_code, blocked.json()["code"]) == (409, "DealRefused"), blocked.text
        assert limit_id in blocked.json()["detail"]
        deal = ok(await gateway.get(f"/risk/v1/deals/{second}", headers=office.officer))
        assert deal["status"] == "refused"
        # The refused deal reserved nothing and breached nothing.
        assert (await office.limit_view(limit_id))["exposure"]["total"] == 40_000

        # The risk officer raises the limit (four eyes): the deal is re-checked and cleared.
        await office.raise_limit(limit_id, RAISED)
        await office.clearance_is(second, "cleared")
        ok(await office.approve(second))
        await office.exposure_is(limit_id, 120_000)

        # A direct posting breaches the raised limit: an incident opens in risk-limits.
        posting = await office.post_entry(40_000)
        entry_id, breach_case = posting.json()["id"], posting.headers["X-Request-Id"]
        await office.exposure_is(limit_id, 160_000)
        breach = await office.breach_of(limit_id)
        incident = await office.incident_for(breach["id"])
        assert incident["status"] in {"new", "assigned", "in_progress"}, incident
        assert incident["priority"] in {1, 2, 3}

        # The officer's measures appear on the incident as an internal note.
        measures = "Trading with the counterparty stopped; limit review tomorrow."
        await office.record_measures(breach["id"], measures)
        notes = await office.notes_of(incident["ticket_id"])
        for _ in range(300):
            if any(measures in n["body"] for n in notes):
                break
            notes = await office.notes_of(incident["ticket_id"])
        assert [n for n in notes if measures in n["body"]], notes

        # A reversal brings the exposure back within the limit: the incident resolves.
        await office.reverse(entry_id)
        await office.exposure_is(limit_id, 120_000)
        resolved = await office.incident_for(breach["id"], status="resolved")
        assert resolved["ticket_id"] == incident["ticket_id"]

        # The deal's case: each step once, in order.
        deal_steps = [
            "ledger.BookingRequestSubmitted",
            "risk.DealRefused",
            "ledger.BookingRequestRefused",
            "risk.DealCleared",
            "ledger.BookingRequestCleared",
            "ledger.BookingRequestApproved",
            "ledger.JournalEntryPosted",
        ]
        in_order_once(await office.case_types(case, *deal_steps), deal_steps)

        # The breach's case: from the posting to the resolved incident.
        breach_steps = [
            "risk.LimitBreached",
            "tickets.TicketOpened",
            "risk.LimitBreachMeasuresRecorded",
            "risk.LimitBackWithinThreshold",
        ]
        types = await office.case_types(breach_case, *breach_steps, "tickets.TicketStatusChanged")
        in_order_once(types, breach_steps)
        assert types.count("ledger.JournalEntryPosted") == 2  # the posting and its reversal
        assert types.index("ledger.JournalEntryPosted") < types.index("risk.LimitBreached")
        # Two notes: the measures, then "back within limit" with the resolution.
        note_at = [i for i, t in enumerate(types) if t == "tickets.TicketNoteAdded"]
        assert len(note_at) == 2, types
        assert types.index("risk.LimitBreachMeasuresRecorded") < note_at[0]
        assert note_at[0] < types.index("risk.LimitBackWithinThreshold") < note_at[1]
        assert note_at[1] < types.index("tickets.TicketStatusChanged")

        # Who sees the cases: the trader its own deal's, not the accountant's posting.
        assert (await office.case(case, office.trader)).status_code == 200
        hidden = await office.case(breach_case, office.trader)
        assert hidden.status_code == 404, hidden.text
        unknown = await office.case("0" * 8 + "-0000-4000-8000-" + "0" * 12, office.trader)
        assert (unknown.status_code, hidden.json()["code"]) == (404, unknown.json()["code"])
        for reader in (office.accountant, await login(gateway, "controller")):
            assert (await office.case(breach_case, reader)).status_code == 200


async def test_a_request_that_is_not_a_deal_needs_no_clearance(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as gateway:
        office = await Office.open(gateway)
        body = office._entry(5_000, "Office supplies")
        body["metadata"] = {}
        submitted = ok(
            await gateway.post("/ledger/v1/booking-requests", json=body, headers=office.trader),
            201,
        )
        view = await office.request_view(submitted["id"])
        assert view["clearance"]["status"] == "not_required"
        ok(await office.approve(submitted["id"]))

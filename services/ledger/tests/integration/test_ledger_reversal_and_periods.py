"""Reversal (Storno) and period closing (Festschreibung) over HTTP, against real PostgreSQL
and Kafka: a reversal mirrors and links, a second one is refused even when two arrive at
once; nothing is booked into a closed month by any route."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from shared_kernel.testing import Headers

from .ledger_api import entry, open_account, post, read, settle

pytestmark = pytest.mark.integration


async def chart(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, str]:
    bank = await open_account(client, headers, "1200", "asset")
    revenue = await open_account(client, headers, "8400", "revenue")
    return bank, revenue


async def test_a_reversal_mirrors_the_entry_links_both_ways_and_nets_to_zero(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank, revenue = await chart(ledger_client, headers)
    original = await post(ledger_client, headers, entry(bank, revenue, 119_00, voucher="RE-9"))
    original_id = original.json()["id"]

    reversed_ = await ledger_client.post(
        f"/v1/journal-entries/{original_id}/reversal",
        json={"reason": "invoice cancelled"},
        headers=headers,
    )
    assert reversed_.status_code == 201, reversed_.text
    reversal = await read(
        ledger_client,
        headers,
        f"/v1/journal-entries/{reversed_.json()['id']}",
        reversed_.json()["position"],
    )
    assert reversal["reverses"] == original_id
    assert reversal["voucher_number"] == "ST-RE-9"
    assert [(ln["account_id"], ln["side"], ln["amount"]) for ln in reversal["lines"]] == [
        (bank, "credit", 119_00),
        (revenue, "debit", 119_00),
    ]
    linked = await read(
        ledger_client, headers, f"/v1/journal-entries/{original_id}", reversed_.json()["position"]
    )
    assert (linked["reversed_by"], linked["version"]) == (reversal["entry_id"], 2)
    account = await read(
        ledger_client, headers, f"/v1/accounts/{bank}", original.json()["position"]
    )
    assert account["balance"] == 0

    again = await ledger_client.post(
        f"/v1/journal-entries/{original_id}/reversal", json={"reason": "twice"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "EntryAlreadyReversed"
    of_reversal = await ledger_client.post(
        f"/v1/journal-entries/{reversal['entry_id']}/reversal",
        json={"reason": "undo the undo"},
        headers=headers,
    )
    assert of_reversal.status_code == 422
    assert of_reversal.json()["code"] == "ReversalNotReversible"
    missing = await ledger_client.post(
        "/v1/journal-entries/0192a3f4-7b1e-7c3d-9f00-5a1b2c3d4e5f/reversal",
        json={"reason": "x"},
        headers=headers,
    )
    assert missing.status_code == 404


async def test_two_concurrent_reversals_of_one_entry_one_wins(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank, revenue = await chart(ledger_client, headers)
    for attempt in range(5):
        original_id = (
            await post(ledger_client, headers, entry(bank, revenue, 10_00, voucher=f"C-{attempt}"))
        ).json()["id"]
        answers = await asyncio.gather(
            *(
                ledger_client.post(
                    f"/v1/journal-entries/{original_id}/reversal",
                    json={"reason": f"racer {n}"},
                    headers=headers,
                )
                for n in range(4)
            )
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409, 409, 409], [a.text for a in answers]
        assert all(
            a.json()["code"] == "EntryAlreadyReversed" for a in answers if a.status_code == 409
        ), [a.text for a in answers]
    ledger = ledger_client.ledger  # type: ignore[attr-defined]
    async with ledger.runtime.engine.connect() as conn:
        history = await ledger.runtime.store.read_stream(conn, original_id)
    assert [e.event_type for e in history] == [
        "ledger.JournalEntryPosted",
        "ledger.JournalEntryReversed",
    ]


async def test_nothing_is_booked_into_a_closed_period_by_any_route(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    accountant, trader = as_role("accountant"), as_role("trader", "front")
    controller = as_role("controller", subject="user:carla")
    bank, revenue = await chart(ledger_client, accountant)
    october = await post(
        ledger_client, accountant, entry(bank, revenue, 50_00, booking_date="2026-10-15")
    )
    pending = await ledger_client.post(
        "/v1/booking-requests",
        json=entry(bank, revenue, 20_00, booking_date="2026-10-20"),
        headers=trader,
    )
    assert pending.status_code == 201

    # A pending request dated in the month holds its close until it is decided.
    held = await ledger_client.post("/v1/periods/2026-10/closing", headers=controller)
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "PendingBookingRequests"
    assert pending.json()["id"] in held.json()["detail"]
    rejected = await ledger_client.post(
        f"/v1/booking-requests/{pending.json()['id']}/rejection",
        json={"reason": "period closing"},
        headers=accountant,
    )
    assert rejected.status_code == 200, rejected.text

    closed = await ledger_client.post("/v1/periods/2026-10/closing", headers=controller)
    assert closed.status_code == 200, closed.text
    period = await read(ledger_client, accountant, "/v1/periods/2026-10", closed.json()["position"])
    assert (period["status"], period["closed_by"]) == ("closed", "user:carla")

    def refused(answer: httpx.Response) -> None:
        assert answer.status_code == 422, answer.text
        assert (answer.json()["code"], answer.json()["field"]) == ("PeriodClosed", "booking_date")

    refused(
        await post(ledger_client, accountant, entry(bank, revenue, 1_00, booking_date="2026-10-31"))
    )
    refused(
        await ledger_client.post(
            "/v1/booking-requests",
            json=entry(bank, revenue, 1_00, booking_date="2026-10-01"),
            headers=trader,
        )
    )
    refused(
        await ledger_client.post(
            f"/v1/journal-entries/{october.json()['id']}/reversal",
            json={"reason": "back-dated correction"},
            headers=accountant,
        )
    )
    batch = await ledger_client.post(
        "/v1/journal-entry-batches",
        json={
            "entries": [
                entry(bank, revenue, 1_00, booking_date="2026-11-02"),
                entry(bank, revenue, 1_00, booking_date="2026-10-30"),
            ]
        },
        headers=accountant,
    )
    assert batch.status_code == 422
    assert batch.json()["errors"] == [
        {
            "index": 1,
            "field": "booking_date",
            "code": "PeriodClosed",
            "detail": batch.json()["errors"][0]["detail"],
        }
    ]
    again = await ledger_client.post("/v1/periods/2026-10/closing", headers=accountant)
    assert again.status_code == 409
    assert again.json()["code"] == "PeriodAlreadyClosed"

    # Corrections go into an open period: the reversal of an October entry, dated November.
    corrected = await ledger_client.post(
        f"/v1/journal-entries/{october.json()['id']}/reversal",
        json={"reason": "correction", "booking_date": "2026-11-02"},
        headers=accountant,
    )
    assert corrected.status_code == 201, corrected.text
    await settle(ledger_client, accountant, october.json()["position"])
    october_view = await read(
        ledger_client,
        accountant,
        "/v1/reports/trial-balance",
        corrected.json()["position"],
        period="2026-10",
    )
    assert [(a["code"], a["debits"], a["credits"]) for a in october_view["accounts"]] == [
        ("1200", 50_00, 0),
        ("8400", 0, 50_00),
    ]


async def test_a_close_racing_with_postings_lets_none_slip_in_after_it(
    ledger_client: httpx.AsyncClient, as_role: Headers
) -> None:
    headers = as_role("accountant")
    bank, revenue = await chart(ledger_client, headers)

    async def booking(n: int) -> httpx.Response:
        return await post(
            ledger_client,
            headers,
            entry(bank, revenue, 1_00, booking_date="2026-09-10", voucher=f"V{n}"),
        )

    answers = await asyncio.gather(
        *(booking(n) for n in range(20)),
        ledger_client.post("/v1/periods/2026-09/closing", headers=headers),
        *(booking(n) for n in range(20, 40)),
    )
    close = answers[20]
    assert close.status_code == 200
    postings = answers[:20] + answers[21:]
    assert {a.status_code for a in postings} <= {201, 422}
    accepted = [a.json()["position"] for a in postings if a.status_code == 201]
    # Every accepted posting's event precedes the close in the journal.
    assert all(p < close.json()["position"] for p in accepted)

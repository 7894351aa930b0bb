"""The Cases pages against a fake gateway: opening a case, its timeline, a case not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fake_gateway import FakeGateway, browser, logged_in

pytestmark = pytest.mark.unit

CASE = "req-7f3a"
READERS = [
    "GET /cases/{correlation_id}",
    "GET /ledger/v1/journal-entries/{entry_id}",
    "GET /ledger/v1/booking-requests/{request_id}",
    "GET /tickets/v1/tickets/{ticket_id}",
]


def event(number: int, **fields: object) -> dict[str, object]:
    return {
        "event_id": f"00000000-0000-7000-8000-00000000000{number}",
        "time": f"2026-12-03T08:00:0{number}Z",
        "service": "ledger",
        "type": "ledger.BookingRequestSubmitted",
        "subject": f"subject-{number}",
        "stream_type": "booking_request",
        "actor": "trader",
        "office": "front",
        "summary": f"summary {number}",
        "causation_id": CASE,
        "internal": False,
        **fields,
    }


def case(*events: dict[str, object], next_after: str | None = None) -> dict[str, object]:
    return {
        "correlation_id": CASE,
        "started_by": {"subject": "trader", "office": "front"},
        "started_at": "2026-12-03T08:00:01Z",
        "events": list(events),
        "next_after": next_after,
    }


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("controller", ["controller"], "back", READERS)
    fake.operator("nobody", ["monitoring"], "back", [])
    return fake


async def test_the_timeline_shows_each_event_in_words_linked_to_its_record(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        f"/cases/{CASE}",
        case(
            event(1, summary="Booking request submitted by trader: EUR 5,000.00"),
            event(
                2,
                service="tickets",
                type="tickets.TicketNoteAdded",
                stream_type="ticket",
                subject="t-9",
                actor="it-support",
                office="back",
                summary="Internal note added by it-support",
                internal=True,
            ),
            event(3, type="ledger.JournalEntryPosted", stream_type="journal_entry", subject="je-1"),
            event(4, type="risk.LimitBreached", stream_type="limit", subject="l-1"),
        ),
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")

    page = await client.get(f"/cases/{CASE}")

    assert page.status_code == 200
    html = page.text
    assert "Booking request submitted by trader: EUR 5,000.00" in html
    assert "Ticket note added" in html and "tickets.TicketNoteAdded" in html
    assert 'class="case-internal"' in html and html.count(">internal<") == 1
    assert 'href="/ledger/booking-requests/subject-1"' in html
    assert 'href="/tickets/t-9"' in html
    assert 'href="/ledger/journal/je-1"' in html
    # No permission to read limits: the record is named, not linked.
    assert "/risk/limits/l-1" not in html and "l-1" in html
    assert "/audit?request_id=" not in html  # a controller does not search the audit trail
    assert "3 Dec 2026, 09:00:01" in html  # Europe/Berlin, the console's time zone


async def test_an_auditor_is_led_from_the_case_to_its_audit_record(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.operator(
        "auditor",
        ["auditor"],
        "oversight",
        ["GET /cases/{correlation_id}", "GET /audit/v1/decisions"],
    )
    gateway.on("GET", f"/cases/{CASE}", case(event(1)))
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")

    html = (await client.get(f"/cases/{CASE}")).text

    assert f'href="/audit?request_id={CASE}"' in html


async def test_records_the_operator_may_not_read_are_not_linked(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", f"/cases/{CASE}", case(event(1, stream_type="journal_entry", subject="je")))
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    html = (await client.get(f"/cases/{CASE}")).text

    assert "/ledger/journal/je" not in html


async def test_an_unknown_case_is_a_readable_404_with_the_form_to_try_another(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/cases/nothing-here",
        {"title": "Not found", "detail": "there is no case nothing-here", "status": 404},
        404,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    page = await client.get("/cases/nothing-here")

    assert page.status_code == 404
    assert "No such case" in page.text and "nothing-here" in page.text
    assert 'name="correlation_id"' in page.text


async def test_the_open_form_leads_to_the_case_without_changing_anything(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    form = await client.get("/cases")
    opened = await client.get("/cases", params={"correlation_id": " a b/c "})

    assert form.status_code == 200 and 'method="get"' in form.text
    assert opened.status_code == 303
    assert opened.headers["location"] == "/cases/a%20b%2Fc"


async def test_a_correlation_id_the_gateway_refuses_is_shown_next_to_the_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/cases/a b/c",
        {"title": "Invalid request", "detail": "correlation_id: no blanks", "status": 422},
        422,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    page = await client.get("/cases/a%20b%2Fc")

    assert page.status_code == 422
    assert "Invalid request" in page.text and "correlation_id: no blanks" in page.text
    assert 'value="a b/c"' in page.text
    assert gateway.calls[-1].url.raw_path == b"/cases/a%20b%2Fc?limit=100"


async def test_a_long_case_pages_on_with_the_last_event_id(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    last = "00000000-0000-7000-8000-000000000001"
    gateway.on("GET", f"/cases/{CASE}", case(event(1), next_after=last))
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")

    first = await client.get(f"/cases/{CASE}")
    await client.get(f"/cases/{CASE}", params={"after": last})

    assert f'href="/cases/{CASE}?after={last}"' in first.text
    asked = [c for c in gateway.calls if c.url.path == f"/cases/{CASE}"]
    assert [c.url.params.get("after") for c in asked] == [None, last]
    assert asked[0].url.params["limit"] == "100"


async def test_an_operator_without_the_case_route_gets_the_403_page_and_no_call(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "nobody")

    page = await client.get(f"/cases/{CASE}")

    assert page.status_code == 403 and "Your roles do not allow this page." in page.text
    assert not [c for c in gateway.calls if c.url.path.startswith("/cases")]


async def test_the_timeline_in_german(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on("GET", f"/cases/{CASE}", case(event(1, internal=True)))
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")
    client.cookies.set("console_locale", "de")

    html = (await client.get(f"/cases/{CASE}")).text

    assert "Zeitleiste" in html and ">intern<" in html and "03.12.2026, 09:00:01" in html

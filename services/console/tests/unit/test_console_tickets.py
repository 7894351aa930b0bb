"""The Tickets section against a fake gateway: the queue with SLA badges and filters, a
ticket's conversation (internal notes apart from public replies), the actions an operator may
take now, refusals shown readably, and opening a ticket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from console.domain.tickets import TRANSITIONS

from .fake_gateway import FakeGateway, browser, csrf_of, logged_in

pytestmark = pytest.mark.unit

TICKETS = "/tickets/v1/tickets"
QUEUE_ID = "0193a000-0000-7000-8000-000000000001"
MERGE_ROUTE = "POST /tickets/v1/tickets/{ticket_id}/merge"
READ_ROUTES = [
    "GET /tickets/v1/tickets",
    "GET /tickets/v1/tickets/{ticket_id}",
    "GET /tickets/v1/tickets/{ticket_id}/conversation",
    "GET /tickets/v1/tickets/{ticket_id}/history",
    "GET /tickets/v1/queues",
    "GET /tickets/v1/queues/{queue_id}",
]
REQUESTER_ROUTES = [
    *READ_ROUTES,
    "POST /tickets/v1/tickets",
    "POST /tickets/v1/tickets/{ticket_id}/replies",
    "POST /tickets/v1/tickets/{ticket_id}/rating",
]
AGENT_ROUTES = [
    *REQUESTER_ROUTES,
    "POST /tickets/v1/tickets/{ticket_id}/notes",
    "POST /tickets/v1/tickets/{ticket_id}/assignment",
    "POST /tickets/v1/tickets/{ticket_id}/transitions",
    "POST /tickets/v1/tickets/{ticket_id}/classification",
    "POST /tickets/v1/tickets/{ticket_id}/links",
]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def a_ticket(ticket_id: str, title: str, *, due_in: timedelta, **changes: Any) -> dict[str, Any]:
    """A ticket as the API's TicketView, opened 8 h before its resolution is due."""
    now = datetime.now(UTC)
    due = now + due_in
    opened = due - timedelta(hours=8)
    ticket = {
        "ticket_id": ticket_id,
        "ticket_type": "incident",
        "queue_id": QUEUE_ID,
        "title": title,
        "description": "The order blotter stopped updating.",
        "category": "",
        "configuration_item": "host:trade-ws-17",
        "requester": "trader",
        "requester_kind": "person",
        "impact": 2,
        "urgency": 1,
        "priority": 1,
        "status": "open",
        "assignee": "it-support",
        "escalated_to": None,
        "merged_into": None,
        "opened_at": iso(opened),
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "rating": None,
        "first_response_warning_at": None,
        "first_response_due_at": None,
        "resolution_warning_at": iso(due - timedelta(hours=2)),
        "resolution_due_at": iso(due),
        "first_response_warned": False,
        "first_response_breached": False,
        "resolution_warned": False,
        "resolution_breached": False,
        "version": 4,
        "position": 120,
        "links": [],
    }
    return {**ticket, **changes}


MESSAGES = [
    {
        "message_id": "m1",
        "ticket_id": "T1",
        "internal": False,
        "by_agent": True,
        "author": "it-support",
        "body": "We are restarting the market-data feed.",
        "at": "2026-12-01T09:20:00Z",
        "position": 121,
    },
    {
        "message_id": "m2",
        "ticket_id": "T1",
        "internal": True,
        "by_agent": True,
        "author": "it-support",
        "body": "Feed handler leaked memory again, see PRB-7.",
        "at": "2026-12-01T09:21:00Z",
        "position": 122,
    },
]
HISTORY = [
    {
        "version": 1,
        "position": 100,
        "event_type": "tickets.TicketOpened",
        "at": "2026-12-01T09:12:00Z",
        "actor": "trader",
        "office": "front",
        "reason": None,
        "correlation_id": "0193a111-2222-7333-8444-555566667777",
        "data": {"requester": "trader"},
    },
    {
        "version": 2,
        "position": 110,
        "event_type": "tickets.TicketStatusChanged",
        "at": "2026-12-01T09:15:00Z",
        "actor": "it-support",
        "office": "back",
        "reason": "looking into it",
        "correlation_id": "0193a111-2222-7333-8444-555566667777",
        "data": {"status": "open"},
    },
]
QUEUES = {
    "items": [
        {
            "queue_id": QUEUE_ID,
            "name": "it-support",
            "members": [
                {"member": "it-support", "available": True},
                {"member": "it-support-2", "available": True},
            ],
        }
    ]
}


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("trader", ["trader"], "front", REQUESTER_ROUTES)
    fake.operator("it-support", ["it-support"], "back", AGENT_ROUTES)
    fake.operator("auditor", ["auditor"], "oversight", READ_ROUTES)
    fake.on("GET", "/tickets/v1/queues", QUEUES)
    fake.on(
        "GET",
        TICKETS,
        {
            "items": [
                a_ticket("T1", "Trading screen frozen", due_in=timedelta(minutes=-5)),
                a_ticket("T2", "Printer jams", due_in=timedelta(minutes=40), assignee=None),
                a_ticket("T3", "New laptop", due_in=timedelta(hours=7), priority=4),
            ],
            "next_cursor": "MTIw",
        },
    )
    fake.on(
        "GET", f"{TICKETS}/T1", a_ticket("T1", "Trading screen frozen", due_in=timedelta(hours=6))
    )
    fake.on("GET", f"{TICKETS}/T1/conversation", {"items": MESSAGES})
    fake.on("GET", f"{TICKETS}/T1/history", {"items": HISTORY})
    return fake


def calls_to(gateway: FakeGateway, method: str, path: str) -> list[httpx.Request]:
    return [c for c in gateway.calls if c.method == method and c.url.path == path]


async def test_the_queue_shows_sla_badges_priority_assignee_and_age(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    page = await client.get("/tickets")
    assert page.status_code == 200
    html = page.text
    row = {
        t: html.split(f'href="/tickets/{t}"', 1)[1].split("</tr>", 1)[0] for t in ("T1", "T2", "T3")
    }
    assert "badge-bad" in row["T1"] and "Breached" in row["T1"] and "overdue" in row["T1"]
    assert "badge-warn" in row["T2"] and "At risk" in row["T2"] and "unassigned" in row["T2"]
    assert 'action="/tickets/T2/assignment"' in row["T2"]  # take an unassigned one from here
    assert 'action="/tickets/T1/assignment"' not in row["T1"]
    assert "badge-ok" in row["T3"] and "On time" in row["T3"] and "4 · Low" in row["T3"]
    assert "1 · Critical" in row["T1"] and "it-support" in row["T1"]
    assert "8 hrs" in row["T1"]  # its age: opened 8 h before a deadline just passed
    assert 'data-live="/live/tickets?' in html
    assert 'href="/tickets?cursor=MTIw"' in html


async def test_filters_search_and_mine_go_to_the_api_and_to_the_live_list(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    page = await client.get("/tickets?q=blotter&status=open&priority=1&mine=1&sla=at_risk")
    assert page.status_code == 200
    sent = calls_to(gateway, "GET", TICKETS)[-1].url.params
    assert sent["q"] == "blotter" and sent["status"] == "open" and sent["priority"] == "1"
    assert sent["assignee"] == "it-support" and sent["sla"] == "at_risk"
    assert 'data-live="/live/tickets?q=blotter&amp;status=open' in page.text
    assert "Next page" in page.text and "cursor=MTIw" in page.text and "q=blotter" in page.text


async def test_a_filter_the_api_refuses_is_shown_with_the_form(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        TICKETS,
        {"title": "Invalid input", "status": 422, "detail": "priority: must be 1 to 4"},
        status=422,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    page = await client.get("/tickets?priority=9")
    assert page.status_code == 422
    assert "priority: must be 1 to 4" in page.text and 'id="f-q"' in page.text


async def test_a_user_without_tickets_sees_the_403_page(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    page = await client.get("/tickets")
    assert page.status_code == 403
    assert not calls_to(gateway, "GET", TICKETS)


async def test_the_detail_sets_internal_notes_visibly_apart_from_public_replies(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    page = await client.get("/tickets/T1")
    assert page.status_code == 200
    html = page.text
    public = html.split('class="message note-public"', 1)[1].split("</article>", 1)[0]
    internal = html.split('class="message note-internal"', 1)[1].split("</article>", 1)[0]
    assert "restarting the market-data feed" in public and "Internal note" not in public
    assert "PRB-7" in internal and "Internal note" in internal
    # The case is the correlation id of the ticket's first event.
    assert 'href="/cases/0193a111-2222-7333-8444-555566667777"' in html
    assert "looking into it" in html  # history with its reason


async def test_only_the_transitions_allowed_now_are_offered(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    html = (await client.get("/tickets/T1")).text  # an open ticket
    offered = {part.split('"', 1)[0] for part in html.split('name="to" value="')[1:]}
    assert offered == {"pending", "resolved", "cancelled"}
    assert 'action="/tickets/T1/note"' in html and 'action="/tickets/T1/classification"' in html
    assert "Take it" not in html  # already assigned to this operator
    assert '<option value="it-support-2">' in html  # assign to a queue member


async def test_a_final_ticket_offers_no_work(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on(
        "GET",
        f"{TICKETS}/T1",
        a_ticket("T1", "Done", due_in=timedelta(hours=1), status="closed", assignee=None),
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    html = (await client.get("/tickets/T1")).text
    assert 'name="to"' not in html and "Take it" not in html
    assert 'action="/tickets/T1/reply"' not in html


async def test_the_requester_sees_no_internal_note_and_no_agent_actions(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    # Even were the API to hand a front-office reader an internal note, it is not shown.
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    html = (await client.get("/tickets/T1")).text
    assert "restarting the market-data feed" in html
    assert "PRB-7" not in html and "note-internal" not in html
    assert 'action="/tickets/T1/reply"' in html
    for hidden in ("/note", "/assignment", "/transition", "/classification", "/link"):
        assert f'action="/tickets/T1{hidden}"' not in html


async def test_an_auditor_reads_without_any_action(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "auditor")
    html = (await client.get("/tickets/T1")).text
    assert "PRB-7" in html
    assert 'method="post" action="/tickets/' not in html


async def test_a_reply_posts_to_the_api_and_returns_to_the_ticket_at_its_position(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", f"{TICKETS}/T1/replies", {"id": "T1", "version": 5, "position": 130}, 201)
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post(
        "/tickets/T1/reply", data={"csrf_token": token, "body": "Fixed now."}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tickets/T1?min_position=130"
    sent = calls_to(gateway, "POST", f"{TICKETS}/T1/replies")[-1]
    assert json.loads(sent.content) == {"body": "Fixed now."}
    await client.get(answer.headers["location"])
    assert calls_to(gateway, "GET", f"{TICKETS}/T1")[-1].url.params["min_position"] == "130"


async def test_take_it_and_a_transition_carry_the_version_seen(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", f"{TICKETS}/T1/assignment", {"id": "T1", "version": 5, "position": 131})
    gateway.on("POST", f"{TICKETS}/T1/transitions", {"id": "T1", "version": 6, "position": 132})
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    token = csrf_of((await client.get("/tickets/T1")).text)
    await client.post("/tickets/T1/assignment", data={"csrf_token": token, "version": "4"})
    took = calls_to(gateway, "POST", f"{TICKETS}/T1/assignment")[-1]
    assert json.loads(took.content) == {} and took.headers["if-match"] == "4"
    answer = await client.post(
        "/tickets/T1/transition",
        data={"csrf_token": token, "version": "5", "to": "resolved", "reason": "feed restarted"},
    )
    assert answer.status_code == 303
    moved = calls_to(gateway, "POST", f"{TICKETS}/T1/transitions")[-1]
    assert json.loads(moved.content) == {"to": "resolved", "reason": "feed restarted"}
    assert moved.headers["if-match"] == "5"


async def test_a_refusal_is_shown_readably_with_the_typed_reason_kept(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        f"{TICKETS}/T1/transitions",
        {
            "title": "Transition not allowed",
            "status": 409,
            "detail": "a closed ticket cannot become open; allowed: none (the ticket is final)",
            "code": "TransitionNotAllowed",
        },
        status=409,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post(
        "/tickets/T1/transition",
        data={"csrf_token": token, "version": "4", "to": "open", "reason": "one more try"},
    )
    assert answer.status_code == 409
    assert "Transition not allowed" in answer.text and "the ticket is final" in answer.text
    assert 'role="alert"' in answer.text and 'value="one more try"' in answer.text


async def test_a_forbidden_action_answered_403_by_the_api_is_readable(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        f"{TICKETS}/T1/replies",
        {"title": "Forbidden", "status": 403, "detail": "not your ticket"},
        status=403,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post("/tickets/T1/reply", data={"csrf_token": token, "body": "hi"})
    assert answer.status_code == 403 and "not your ticket" in answer.text


async def test_a_reason_left_empty_is_asked_for_before_anything_is_sent(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post(
        "/tickets/T1/transition", data={"csrf_token": token, "to": "resolved", "reason": " "}
    )
    assert answer.status_code == 422 and "Please fill in: Reason." in answer.text
    assert not calls_to(gateway, "POST", f"{TICKETS}/T1/transitions")


async def test_the_front_office_cannot_post_agent_actions(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post("/tickets/T1/note", data={"csrf_token": token, "body": "sneaky"})
    assert answer.status_code == 403
    assert not calls_to(gateway, "POST", f"{TICKETS}/T1/notes")


async def test_opening_a_ticket_posts_it_once_and_shows_it(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", TICKETS, {"id": "T9", "version": 1, "position": 140}, 201)
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    form = (await client.get("/tickets/new")).text
    key = form.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "idempotency_key": key,
            "title": "Screen frozen",
            "ticket_type": "incident",
            "queue_id": "",
            "impact": "2",
            "urgency": "1",
            "description": "Since 09:12.",
            "category": "",
            "configuration_item": "",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tickets/T9?min_position=140"
    sent = calls_to(gateway, "POST", TICKETS)[-1]
    assert sent.headers["idempotency-key"] == key
    assert json.loads(sent.content) == {
        "ticket_type": "incident",
        "title": "Screen frozen",
        "impact": 2,
        "urgency": 1,
        "description": "Since 09:12.",
    }


async def test_a_ticket_without_title_is_refused_with_the_form_kept(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    form = (await client.get("/tickets/new")).text
    answer = await client.post(
        "/tickets/new",
        data={
            "csrf_token": csrf_of(form),
            "title": "",
            "impact": "2",
            "urgency": "1",
            "description": "kept text",
        },
    )
    assert answer.status_code == 422
    assert "Please give the ticket a title." in answer.text and "kept text" in answer.text
    assert not calls_to(gateway, "POST", TICKETS)


async def test_the_requester_rates_a_resolved_ticket(gateway: FakeGateway, tmp_path: Path) -> None:
    gateway.on(
        "GET",
        f"{TICKETS}/T1",
        a_ticket("T1", "Fixed", due_in=timedelta(hours=1), status="resolved"),
    )
    gateway.on("POST", f"{TICKETS}/T1/rating", {"id": "T1", "version": 7, "position": 150}, 201)
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    html = (await client.get("/tickets/T1")).text
    assert 'action="/tickets/T1/rating"' in html
    answer = await client.post(
        "/tickets/T1/rating", data={"csrf_token": csrf_of(html), "rating": "5", "comment": "quick"}
    )
    assert answer.status_code == 303
    sent = calls_to(gateway, "POST", f"{TICKETS}/T1/rating")[-1]
    assert json.loads(sent.content) == {"rating": 5, "comment": "quick"}


async def test_the_queue_in_german(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    client.cookies.set("console_locale", "de")
    html = (await client.get("/tickets")).text
    assert "Verletzt" in html and "Gefährdet" in html and "Warteschlange" in html


def test_the_lifecycle_mirrors_the_tickets_service() -> None:
    lifecycle = pytest.importorskip("tickets.domain.lifecycle")
    theirs = {str(s): {str(t) for t in targets} for s, targets in lifecycle.TRANSITIONS.items()}
    assert {s: set(t) for s, t in TRANSITIONS.items()} == theirs


async def test_the_live_list_streams_the_queue_with_the_pages_filters(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    app = gateway.app(tmp_path, live_stream_seconds=1.1, live_interval_seconds=0.5)
    client = await logged_in(browser(app), "it-support")
    stream = await client.get("/live/tickets?status=open&mine=1")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: update" in stream.text and "Trading screen frozen" in stream.text
    sent = calls_to(gateway, "GET", TICKETS)[-1].url.params
    assert sent["status"] == "open" and sent["assignee"] == "it-support"


async def test_a_ticket_in_german(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    client.cookies.set("console_locale", "de")
    html = (await client.get("/tickets/T1")).text
    assert "Interne Notiz" in html and "Öffentliche Antwort" in html
    assert "Auf wartend setzen" in html and "Im Plan" in html
    assert "noch 6 Std." in html  # the resolution clock's countdown


async def test_the_conversation_is_live_and_keeps_notes_from_the_requester(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    app = gateway.app(tmp_path, live_stream_seconds=1.1, live_interval_seconds=0.5)
    client = await logged_in(browser(app), "trader")
    page = (await client.get("/tickets/T1")).text
    assert 'data-live="/live/ticket-conversation?ticket_id=T1"' in page
    stream = (await client.get("/live/ticket-conversation?ticket_id=T1")).text
    assert "restarting the market-data feed" in stream and "PRB-7" not in stream
    refused = (await client.get("/live/ticket-conversation?ticket_id=../admin")).text
    assert "event: refused" in refused


async def test_an_unknown_or_malformed_ticket_is_a_readable_page(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        f"{TICKETS}/T404",
        {"title": "Not found", "status": 404, "detail": "ticket T404 does not exist"},
        status=404,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    missing = await client.get("/tickets/T404")
    assert missing.status_code == 404 and "ticket T404 does not exist" in missing.text
    malformed = await client.get("/tickets/%20bad")
    assert malformed.status_code == 422 and "ticket_id" in malformed.text


async def test_a_pasted_ticket_address_links_to_its_id(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", f"{TICKETS}/T1/links", {"id": "T1", "version": 5, "position": 133}, 201)
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    token = csrf_of((await client.get("/tickets/T1")).text)
    answer = await client.post(
        "/tickets/T1/link",
        data={
            "csrf_token": token,
            "kind": "caused_by",
            "target_id": "http://console/tickets/P7?min_position=3",
        },
    )
    assert answer.status_code == 303
    sent = calls_to(gateway, "POST", f"{TICKETS}/T1/links")[-1]
    assert json.loads(sent.content) == {"kind": "caused_by", "target_id": "P7"}


async def test_a_duplicate_is_merged_into_its_survivor_with_the_version_seen(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.operator("it-support", ["it-support"], "back", [*AGENT_ROUTES, MERGE_ROUTE])
    gateway.on("POST", f"{TICKETS}/T1/merge", {"id": "T1", "version": 8, "position": 160})
    client = await logged_in(browser(gateway.app(tmp_path)), "it-support")
    html = (await client.get("/tickets/T1")).text
    assert 'action="/tickets/T1/merge"' in html
    answer = await client.post(
        "/tickets/T1/merge",
        data={
            "csrf_token": csrf_of(html),
            "version": "4",
            "survivor_id": "/tickets/T2",
            "reason": "same frozen screen",
        },
    )
    assert answer.status_code == 303
    sent = calls_to(gateway, "POST", f"{TICKETS}/T1/merge")[-1]
    assert json.loads(sent.content) == {"survivor_id": "T2", "reason": "same frozen screen"}
    assert sent.headers["if-match"] == "4"


async def test_the_front_office_queue_has_no_agent_tools(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    html = (await client.get("/tickets?mine=1")).text
    assert "Trading screen frozen" in html and "You see the tickets you opened." in html
    assert "/assignment" not in html and 'id="f-mine"' not in html and 'id="f-assignee"' not in html
    assert "assignee" not in calls_to(gateway, "GET", TICKETS)[-1].url.params

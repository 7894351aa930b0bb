"""Team against a fake gateway: the work of every service in one table, oldest first, the
counts per person and team with the overloaded badge, and a service that refuses left out."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from .fake_gateway import FakeGateway, browser, logged_in
from .test_console_home import tickets_by_status
from .work_data import ago, booking_request, breach, limit, page, risk, ticket

pytestmark = pytest.mark.unit

SERVICES = ("/ledger", "/risk", "/tickets")

CONTROLLER = [
    "GET /ledger/v1/booking-requests",
    "GET /tickets/v1/tickets",
    "GET /tickets/v1/queues",
    "GET /risk/v1/limits",
    "GET /risk/v1/risks",
    "GET /risk/v1/risks/{risk_id}",
    "GET /risk/v1/reports/breaches",
    "GET /risk/v1/reports/overdue",
]


def team_gateway() -> FakeGateway:
    gateway = FakeGateway()
    gateway.operator("controller", ["controller"], "back", CONTROLLER)
    gateway.on(
        "GET",
        "/ledger/v1/booking-requests",
        page(booking_request("r1", "trader", submitted_at=ago(days=4))),
    )
    gateway.on("GET", "/risk/v1/limits", page(limit("l1", "risk-officer")))
    gateway.on("GET", "/risk/v1/risks", page(risk("k1", "risk-officer-2")))
    gateway.on("GET", "/risk/v1/reports/breaches", page(breach("b1")))
    gateway.on(
        "GET",
        "/risk/v1/reports/overdue",
        {
            "as_of": ago(seconds=0),
            "reviews": [
                {
                    "risk_id": "k7",
                    "title": "Outsourcing",
                    "owner": "risk-officer-2",
                    "review_due": (ago(days=30))[:10],
                    "residual_level": "high",
                    "days_overdue": 30,
                }
            ],
            "actions": [],
        },
    )
    gateway.on("GET", "/tickets/v1/queues", {"items": [{"queue_id": "q-it", "name": "it-support"}]})
    busy = [ticket(f"t{n}", "it-support", opened_at=ago(hours=n)) for n in range(1, 10)]
    fresh = ticket("u1", None, status="new", opened_at=ago(days=2))
    done = ticket("d1", "it-support", status="closed", opened_at=ago(days=9))
    tickets_by_status(gateway, *busy, fresh, done)
    return gateway


def rows_of(html: str, table: str) -> list[str]:
    body = html.split(f'class="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)[1:]


async def test_the_lead_sees_every_silos_work_oldest_first(tmp_path: Path) -> None:
    client = await logged_in(browser(team_gateway().app(tmp_path)), "controller")
    answer = await client.get("/team")
    assert answer.status_code == 200
    tasks = rows_of(answer.text, "team-tasks")
    kinds = [re.findall(r"<td>([A-Z][a-z]+(?: [a-z]+)*)</td>", row)[0] for row in tasks]
    # The review due 30 days ago, the request of 4 days, the acceptance of 3, the breach and the
    # unassigned ticket of 2, the limit request of 1, then the tickets of hours.
    assert kinds[:3] == ["Overdue risk review", "Booking request", "Risk acceptance"]
    assert set(kinds[3:5]) == {"Breach without measures", "Ticket"}
    assert kinds[5:] == ["Limit request"] + ["Ticket"] * 9
    assert "/ledger/booking-requests/r1" in answer.text and "/risk/risks/k7" in answer.text
    # A ticket names its queue; an unassigned one waits on the queue itself.
    assert "Ticket t1 · it-support" in answer.text


async def test_the_page_asks_each_list_once(tmp_path: Path) -> None:
    """Every crossing of the gateway costs the page time: one call per list, none per item."""
    gateway = team_gateway()
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")
    html = (await client.get("/team")).text
    asked = Counter(c.url.path for c in gateway.calls if c.url.path.startswith(SERVICES))
    assert asked == {
        "/ledger/v1/booking-requests": 1,
        "/risk/v1/limits": 1,
        "/risk/v1/risks": 1,
        "/risk/v1/reports/breaches": 1,
        "/risk/v1/reports/overdue": 1,
        "/tickets/v1/tickets": 1,
        "/tickets/v1/queues": 1,
    }
    [tickets] = [c.url.params for c in gateway.calls if c.url.path == "/tickets/v1/tickets"]
    assert tickets.get_list("status") == ["new", "open", "pending"]
    assert "/tickets/d1" not in html and "/tickets/u1" in html


async def test_counts_per_person_and_team_flag_the_overloaded(tmp_path: Path) -> None:
    client = await logged_in(browser(team_gateway().app(tmp_path)), "controller")
    html = (await client.get("/team")).text
    loads = rows_of(html, "team-load")
    first = loads[0]
    assert "it-support" in first and "Overloaded" in first and ">9<" in first
    unassigned = next(row for row in loads if "Unassigned" in row)
    assert "queue" in unassigned and "it-support" in unassigned and "Overloaded" not in unassigned
    risk_team = next(row for row in loads if "Risk management" in row)
    # A limit request, an acceptance and a breach wait on the risk team: never "overloaded".
    assert ">3<" in risk_team and "Overloaded" not in risk_team
    assert html.count("Overloaded</span>") == 1
    for column in ("Approvals", "Tickets", "Breaches without measures", "Overdue reviews"):
        assert f'class="num">{column}</th>' in html, column


async def test_a_service_that_refuses_the_lead_is_left_out_not_the_page(tmp_path: Path) -> None:
    gateway = team_gateway()
    problem = {"title": "Forbidden", "detail": "not for controllers"}
    gateway.on("GET", "/risk/v1/reports/breaches", problem, 403)
    gateway.on("GET", "/risk/v1/reports/overdue", problem, 403)
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")
    answer = await client.get("/team")
    assert answer.status_code == 200
    assert "Breaches without measures" not in answer.text and "Overdue reviews" not in answer.text
    assert "/tickets/t1" in answer.text and "/ledger/booking-requests/r1" in answer.text


async def test_an_unavailable_service_is_named_on_the_page(tmp_path: Path) -> None:
    gateway = team_gateway()
    gateway.on(
        "GET", "/tickets/v1/tickets", {"title": "Bad gateway", "detail": "tickets down"}, 502
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")
    answer = await client.get("/team")
    assert answer.status_code == 200
    assert "Not shown:" in answer.text and "tickets down" in answer.text
    assert "/tickets/t1" not in answer.text and "/risk/risks/k7" in answer.text


@pytest.mark.parametrize("who", ["accountant", "trader"])
async def test_team_is_a_back_office_leads_page(tmp_path: Path, who: str) -> None:
    gateway = team_gateway()
    client = await logged_in(browser(gateway.app(tmp_path)), who)
    answer = await client.get("/team")
    assert answer.status_code == 403 and "Your roles do not allow this page." in answer.text
    assert not [c for c in gateway.calls if c.url.path.startswith(("/ledger", "/risk", "/tickets"))]


async def test_the_navigation_shows_team_to_the_lead_only(tmp_path: Path) -> None:
    gateway = team_gateway()
    gateway.on("GET", "/ledger/v1/booking-requests", page())
    lead = await logged_in(browser(gateway.app(tmp_path)), "controller")
    assert 'href="/team"' in (await lead.get("/")).text
    accountant = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    assert 'href="/team"' not in (await accountant.get("/")).text


async def test_without_queue_names_the_tickets_still_count(tmp_path: Path) -> None:
    gateway = team_gateway()
    gateway.on("GET", "/tickets/v1/queues", {"title": "Forbidden", "detail": "no"}, 403)
    client = await logged_in(browser(gateway.app(tmp_path)), "controller")
    html = (await client.get("/team")).text
    unassigned = next(row for row in rows_of(html, "team-load") if "Unassigned" in row)
    assert "q-it" in unassigned and "/tickets/t1" in html

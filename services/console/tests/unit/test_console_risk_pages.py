"""The Risk section against a fake gateway: what each page shows, whom it refuses, what its
forms send, and how the risk service's refusals read."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from . import risk_data as data
from .fake_gateway import FakeGateway, browser, csrf_of, logged_in

pytestmark = pytest.mark.unit


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.operator("risk-officer", ["risk-officer"], "back", data.RISK_OFFICER_ROUTES)
    fake.operator("risk-officer-2", ["risk-officer"], "back", data.RISK_OFFICER_ROUTES)
    fake.operator("auditor", ["auditor"], "oversight", data.AUDITOR_ROUTES)
    fake.on("GET", "/risk/v1/reports/heat-map", data.heat_map())
    fake.on("GET", f"/risk/v1/risks/{data.RISK_ID}", data.risk())
    fake.on("GET", f"/risk/v1/risks/{data.RISK_ID}/history", data.history())
    fake.on("GET", f"/risk/v1/limits/{data.LIMIT_ID}", data.limit(pending_by="risk-officer"))
    fake.on("GET", f"/risk/v1/limits/{data.LIMIT_ID}/versions", data.versions())
    return fake


async def client_of(gateway: FakeGateway, tmp_path: Path, user: str) -> httpx.AsyncClient:
    return await logged_in(browser(gateway.app(tmp_path)), user)


def sent(gateway: FakeGateway, method: str, path: str) -> httpx.Request:
    return next(c for c in gateway.calls if c.method == method and c.url.path == path)


async def test_the_heat_map_shows_counts_per_cell_with_links_to_the_register(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get("/risk")
    assert page.status_code == 200
    html = page.text
    assert html.count('<table class="heatmap">') == 2
    assert html.count('scope="row">Likelihood') == 10 and 'scope="col">Impact 5' in html
    inherent = (
        "/risk/register?likelihood=4&amp;impact=5&amp;rating=inherent&amp;cell_level=critical"
    )
    residual = "/risk/register?likelihood=2&amp;impact=3&amp;rating=residual&amp;cell_level=medium"
    assert f'<a href="{inherent}"' in html and f'<a href="{residual}"' in html
    assert "3 risks, likelihood 4, impact 5, critical" in html
    assert 'class="cell band-critical"' in html  # the colour, and the level written too


async def test_a_heat_map_cell_filters_the_register_to_its_risks(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/risk/v1/risks",
        {
            "items": [
                data.risk_summary("r-in-cell", "Card fraud", (2, 3)),
                data.risk_summary("r-elsewhere", "Fat finger", (3, 2)),
            ],
            "next_cursor": None,
        },
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(
        "/risk/register?likelihood=2&impact=3&rating=residual&cell_level=medium"
    )
    assert page.status_code == 200
    assert "Card fraud" in page.text and "Fat finger" not in page.text
    asked = sent(gateway, "GET", "/risk/v1/risks").url.params
    assert asked["level"] == "medium" and asked["limit"] == "200"


async def test_a_wrong_cell_filter_is_a_readable_422(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get("/risk/register?likelihood=9&impact=1")
    assert page.status_code == 422
    assert "likelihood must be a whole number from 1 to 5" in page.text


async def test_the_risk_detail_shows_controls_assessments_and_case_links(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "risk-officer-2")
    html = (await client.get(f"/risk/risks/{data.RISK_ID}")).text
    assert "Payment system outage" in html and "Standby hub" in html
    assert 'href="/cases/case-acceptance-4"' in html
    assert "Risk acceptance requested" in html
    assert ">Approve</button>" in html and ">Reject</button>" in html


async def test_the_requester_gets_no_approve_button_only_withdraw(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "risk-officer")
    html = (await client.get(f"/risk/risks/{data.RISK_ID}")).text
    assert ">Approve</button>" not in html
    assert ">Withdraw</button>" in html
    assert "a second risk officer decides it" in html


async def test_an_auditor_reads_the_risk_without_decision_buttons(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "auditor")
    html = (await client.get(f"/risk/risks/{data.RISK_ID}")).text
    assert "Payment system outage" in html
    assert "Approve" not in html and "/acceptances/" not in html


async def test_a_forged_approval_by_the_requester_shows_the_four_eyes_refusal(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        f"/risk/v1/risks/{data.RISK_ID}/acceptances/acceptance-4/approval",
        {
            "title": "Forbidden",
            "detail": "four-eyes: risk-officer requested this acceptance and cannot approve it",
            "code": "FourEyesViolation",
        },
        403,
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(f"/risk/risks/{data.RISK_ID}")
    answer = await client.post(
        f"/risk/risks/{data.RISK_ID}/acceptances/acceptance-4/approval",
        data={"csrf_token": csrf_of(page.text), "version": "4", "text": "fine"},
    )
    assert answer.status_code == 403
    assert "four-eyes: risk-officer requested this acceptance" in answer.text
    assert 'role="alert"' in answer.text and "FourEyesViolation" in answer.text
    request = sent(
        gateway, "POST", f"/risk/v1/risks/{data.RISK_ID}/acceptances/acceptance-4/approval"
    )
    assert request.headers["if-match"] == "4"
    assert json.loads(request.content) == {"note": "fine"}


async def test_a_second_officer_approves_an_acceptance_and_returns_to_the_risk(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    path = f"/risk/v1/risks/{data.RISK_ID}/acceptances/acceptance-4/approval"
    gateway.on("POST", path, {"id": data.RISK_ID, "version": 5, "position": 150})
    client = await client_of(gateway, tmp_path, "risk-officer-2")
    page = await client.get(f"/risk/risks/{data.RISK_ID}")
    answer = await client.post(
        f"/risk/risks/{data.RISK_ID}/acceptances/acceptance-4/approval",
        data={"csrf_token": csrf_of(page.text), "version": "4", "text": ""},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    # The page after the decision waits until the risk's read model shows it.
    assert answer.headers["location"] == f"/risk/risks/{data.RISK_ID}?after=150"
    await client.get(answer.headers["location"])
    reread = [c for c in gateway.calls if c.url.path == f"/risk/v1/risks/{data.RISK_ID}"][-1]
    assert reread.url.params["min_position"] == "150"


async def test_limits_show_utilisation_bars_with_their_bands(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    breached = {
        **data.limit(1.05, "breached"),
        "id": "0193a1b2-0000-7000-8000-000000000002",
        "counterparty": "GLOBEX",
    }
    gateway.on(
        "GET",
        "/risk/v1/reports/limit-utilisation",
        {"items": [data.limit(0.85, "warning"), breached], "next_cursor": None},
    )
    gateway.on(
        "GET",
        "/risk/v1/limits",
        {"items": [data.limit(pending_by="risk-officer-2")], "next_cursor": None},
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    html = (await client.get("/risk/limits")).text
    assert '<span class="utilisation band-warning">' in html
    assert '<span class="utilisation band-breached">' in html
    assert 'value="0.85"' in html and 'value="1.0"' in html  # a breach fills the bar
    assert "85.0 %" in html and "105.0 %" in html
    assert "€850.00" in html and "-€50.00" in html  # exposure and (negative) headroom
    assert 'data-live="/live/limits?"' in html
    assert "Requests awaiting a second risk officer" in html and "€1,500.00" in html
    assert "style=" not in html
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "Limits · Back office"  # the page's title is text, never its forms
    assert html.count("Request a new limit") == 1


async def test_the_limit_detail_hides_approve_from_the_requester(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    requester = await client_of(gateway, tmp_path, "risk-officer")
    html = (await requester.get(f"/risk/limits/{data.LIMIT_ID}")).text
    assert ">Approve</button>" not in html and ">Withdraw</button>" in html
    assert "risk-officer-2" in html  # the approver of version 1
    second = await logged_in(browser(gateway.app(tmp_path / "second")), "risk-officer-2")
    (tmp_path / "second").mkdir(exist_ok=True)
    html = (await second.get(f"/risk/limits/{data.LIMIT_ID}")).text
    assert ">Approve</button>" in html


async def test_a_change_request_sends_minor_units_and_the_share(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", f"/risk/v1/limits/{data.LIMIT_ID}", data.limit())
    path = f"/risk/v1/limits/{data.LIMIT_ID}/change-requests"
    gateway.on("POST", path, {"id": data.LIMIT_ID, "version": 4, "position": 160})
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(f"/risk/limits/{data.LIMIT_ID}")
    answer = await client.post(
        f"/risk/limits/{data.LIMIT_ID}/change-requests",
        data={
            "csrf_token": csrf_of(page.text),
            "version": "3",
            "currency": "EUR",
            "amount": "2,500.50",
            "warning_threshold": "75",
            "valid_to": "2027-03-31",
            "reason": "credit committee",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    request = sent(gateway, "POST", path)
    assert request.headers["if-match"] == "3"
    assert json.loads(request.content) == {
        "amount": 250050,
        "reason": "credit committee",
        "warning_threshold": 0.75,
        "valid_to": "2027-04-01T00:00:00+00:00",
    }


async def test_a_change_request_with_a_wrong_amount_keeps_the_typed_values(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", f"/risk/v1/limits/{data.LIMIT_ID}", data.limit())
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(f"/risk/limits/{data.LIMIT_ID}")
    answer = await client.post(
        f"/risk/limits/{data.LIMIT_ID}/change-requests",
        data={
            "csrf_token": csrf_of(page.text),
            "currency": "EUR",
            "amount": "lots",
            "reason": "keep me",
        },
    )
    assert answer.status_code == 422
    assert "is not an amount" in answer.text and 'value="keep me"' in answer.text
    assert not any(c.method == "POST" and "change-requests" in c.url.path for c in gateway.calls)


async def test_breaches_show_measures_and_record_new_ones(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    recorded = [
        {
            "measures": "Trading stopped",
            "recorded_by": "controller",
            "recorded_at": "2026-12-02T12:00:00Z",
        }
    ]
    gateway.on(
        "GET", "/risk/v1/reports/breaches", {"items": [data.breach(recorded)], "next_cursor": None}
    )
    path = f"/risk/v1/limit-breaches/{data.BREACH_ID}/measures"
    gateway.on("POST", path, {"id": data.BREACH_ID, "version": 2, "position": 170})
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get("/risk/breaches?from=2026-12-01&to=2026-12-03")
    assert "Trading stopped" in page.text and 'href="/cases/case-breach-1"' in page.text
    window = sent(gateway, "GET", "/risk/v1/reports/breaches").url.params
    assert window["from"] == "2026-12-01T00:00:00+00:00"
    assert window["to"] == "2026-12-04T00:00:00+00:00"
    answer = await client.post(
        f"/risk/breaches/{data.BREACH_ID}/measures",
        data={
            "csrf_token": csrf_of(page.text),
            "measures": "Limit review tomorrow",
            "from": "2026-12-01",
            "to": "2026-12-03",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "from=2026-12-01" in answer.headers["location"]
    assert json.loads(sent(gateway, "POST", path).content) == {"measures": "Limit review tomorrow"}


async def test_a_refused_measure_is_shown_with_the_typed_text(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/risk/v1/reports/breaches", {"items": [data.breach()], "next_cursor": None})
    gateway.on(
        "POST",
        f"/risk/v1/limit-breaches/{data.BREACH_ID}/measures",
        {"title": "Forbidden", "detail": "recording breach measures is back-office work"},
        403,
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get("/risk/breaches")
    answer = await client.post(
        f"/risk/breaches/{data.BREACH_ID}/measures",
        data={"csrf_token": csrf_of(page.text), "measures": "Call the client"},
    )
    assert answer.status_code == 403
    assert "recording breach measures is back-office work" in answer.text
    assert ">Call the client</textarea>" in answer.text


async def test_kris_show_status_and_an_accessible_svg_chart(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    listed = [data.kri_with_history(), data.kri_with_history("cash-breaks", "Cash breaks")]
    listed[1]["history"] = listed[1]["history"][:2]
    gateway.on("GET", "/risk/v1/kris", {"items": listed, "next_cursor": None})
    client = await client_of(gateway, tmp_path, "risk-officer")
    html = (await client.get("/risk/kris")).text
    assert '<svg width="240" height="64"' in html and 'role="img"' in html
    assert "<polyline points=" in html and html.count('class="point status-') == 3 + 2
    assert "Failed payments: 3 measurements, from 1.00 to 3.50 % (amber)" in html
    assert "Cash breaks: 2 measurements, from 1.50 to 3.50 % (amber)" in html
    assert "<summary>Values</summary>" in html
    assert "style=" not in html and "<script" not in html.split("</head>")[1]
    # One API call for the whole page: the list carries the histories (no call per KRI).
    risk_calls = [c for c in gateway.calls if c.url.path.startswith("/risk/")]
    assert [(c.method, c.url.path) for c in risk_calls] == [("GET", "/risk/v1/kris")]
    assert dict(risk_calls[0].url.params) == {"limit": "25", "history": "30"}


async def test_kris_without_the_measurements_route_ask_for_no_history_and_draw_no_chart(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.operator("kri-reader", ["controller"], "oversight", ["GET /risk/v1/kris"])
    gateway.on("GET", "/risk/v1/kris", {"items": [data.kri()], "next_cursor": None})
    client = await client_of(gateway, tmp_path, "kri-reader")
    html = (await client.get("/risk/kris")).text
    assert "Failed payments" in html and "<svg" not in html
    risk_calls = [c for c in gateway.calls if c.url.path.startswith("/risk/")]
    assert [dict(c.url.params) for c in risk_calls] == [{"limit": "25"}]


async def test_the_pre_deal_check_shows_a_refusal_with_headroom_and_shortfall(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        "/risk/v1/pre-deal-checks",
        {
            "allowed": False,
            "reasons": ["limit L (counterparty ACME, EUR) would be exceeded"],
            "limits": [
                {
                    "limit_id": "L",
                    "limit_version": 1,
                    "dimension": "counterparty",
                    "amount": 100_000,
                    "exposure": 90_000,
                    "headroom": 10_000,
                    "utilisation_after": 1.15,
                    "utilisation_after_bp": 11_500,
                    "state_after": "breached",
                }
            ],
        },
    )
    client = await client_of(gateway, tmp_path, "trader")
    form = await client.get("/risk/pre-deal-check")
    assert form.status_code == 200
    answer = await client.post(
        "/risk/pre-deal-check",
        data={
            "csrf_token": csrf_of(form.text),
            "counterparty": "ACME",
            "amount": "250.00",
            "currency": "EUR",
        },
    )
    assert answer.status_code == 200
    assert "refused" in answer.text and "would be exceeded" in answer.text
    assert "€100.00" in answer.text  # headroom
    assert '<strong class="bad-text">€150.00</strong>' in answer.text  # shortfall
    assert json.loads(sent(gateway, "POST", "/risk/v1/pre-deal-checks").content) == {
        "currency": "EUR",
        "amount": 25_000,
        "counterparty": "ACME",
    }


async def test_a_pre_deal_check_without_counterparty_or_desk_asks_for_one(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    form = await client.get("/risk/pre-deal-check")
    answer = await client.post(
        "/risk/pre-deal-check",
        data={"csrf_token": csrf_of(form.text), "amount": "1", "currency": "EUR"},
    )
    assert answer.status_code == 422 and "Name a counterparty, a desk, or both." in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/risk",
        "/risk/register",
        "/risk/limits",
        "/risk/breaches",
        "/risk/kris",
        f"/risk/risks/{data.RISK_ID}",
        f"/risk/limits/{data.LIMIT_ID}",
    ],
)
async def test_the_front_office_gets_the_403_page_without_asking_the_api(
    gateway: FakeGateway, tmp_path: Path, path: str
) -> None:
    client = await client_of(gateway, tmp_path, "trader")
    answer = await client.get(path)
    assert answer.status_code == 403 and "Your roles do not allow this page." in answer.text
    assert not any(c.url.path.startswith("/risk/") for c in gateway.calls)


async def test_the_german_heat_map_and_limits_speak_german(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/risk/v1/reports/limit-utilisation",
        {"items": [data.limit(0.85, "warning")], "next_cursor": None},
    )
    gateway.on("GET", "/risk/v1/limits", {"items": [], "next_cursor": None})
    client = await client_of(gateway, tmp_path, "risk-officer")
    client.cookies.set("console_locale", "de")
    heat = (await client.get("/risk")).text
    assert "Eintrittswahrscheinlichkeit 5" in heat and "kritisch" in heat
    limits = (await client.get("/risk/limits")).text
    assert "85,0 %" in limits and "1.000,00\xa0€" in limits


async def test_the_limits_list_refreshes_live_over_server_sent_events(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "GET",
        "/risk/v1/reports/limit-utilisation",
        {"items": [data.limit(1.05, "breached")], "next_cursor": None},
    )
    app = gateway.app(tmp_path, live_stream_seconds=1.2, live_interval_seconds=0.5)
    client = await logged_in(browser(app), "risk-officer")
    stream = await client.get("/live/limits?counterparty=ACME")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: update" in stream.text
    assert '<span class="utilisation band-breached">' in stream.text
    asked = sent(gateway, "GET", "/risk/v1/reports/limit-utilisation").url.params
    assert asked["counterparty"] == "ACME"


async def test_a_new_limit_request_sends_scope_and_terms_and_shows_a_refusal(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("GET", "/risk/v1/reports/limit-utilisation", {"items": [], "next_cursor": None})
    gateway.on("GET", "/risk/v1/limits", {"items": [], "next_cursor": None})
    gateway.on(
        "POST",
        "/risk/v1/limits",
        {"title": "Conflict", "detail": "a limit for counterparty ACME in EUR exists already"},
        409,
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get("/risk/limits")
    typed = {
        "csrf_token": csrf_of(page.text),
        "dimension": "counterparty",
        "counterparty": " ACME ",
        "desk": "",
        "currency": "eur",
        "amount": "1,000",
        "warning_threshold": "",
        "reason": "new client",
    }
    answer = await client.post("/risk/limits", data=typed)
    assert answer.status_code == 409
    assert "a limit for counterparty ACME in EUR exists already" in answer.text
    assert 'value="new client"' in answer.text
    assert json.loads(sent(gateway, "POST", "/risk/v1/limits").content) == {
        "dimension": "counterparty",
        "currency": "EUR",
        "counterparty": "ACME",
        "amount": 100_000,
        "reason": "new client",
    }


async def test_identifying_a_risk_posts_its_rating_and_opens_it(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on("POST", "/risk/v1/risks", {"id": data.RISK_ID, "version": 1, "position": 200})
    client = await client_of(gateway, tmp_path, "risk-officer")
    form = await client.get("/risk/register/new")
    assert form.status_code == 200
    answer = await client.post(
        "/risk/register/new",
        data={
            "csrf_token": csrf_of(form.text),
            "title": "Payment system outage",
            "description": "",
            "category": "operational",
            "owner": "head-of-payments",
            "likelihood": "4",
            "impact": "5",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/risk/risks/{data.RISK_ID}?after=200"
    assert json.loads(sent(gateway, "POST", "/risk/v1/risks").content) == {
        "title": "Payment system outage",
        "description": "",
        "category": "operational",
        "owner": "head-of-payments",
        "likelihood": 4,
        "impact": 5,
    }


async def test_an_auditor_may_not_identify_risks(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await client_of(gateway, tmp_path, "auditor")
    assert (await client.get("/risk/register/new")).status_code == 403


async def test_the_treatment_form_puts_it_with_the_version_seen(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    path = f"/risk/v1/risks/{data.RISK_ID}/treatment"
    gateway.on("PUT", path, {"id": data.RISK_ID, "version": 5, "position": 210})
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(f"/risk/risks/{data.RISK_ID}")
    assert 'action="/risk/risks/' + data.RISK_ID + '/treatment"' in page.text
    assert page.text.count('id="rf-treatment-reason"') == 1
    assert '<option value="mitigate" selected>' in page.text  # the current treatment
    answer = await client.post(
        f"/risk/risks/{data.RISK_ID}/treatment",
        data={
            "csrf_token": csrf_of(page.text),
            "version": "4",
            "treatment": "accept",
            "reason": "within appetite",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/risk/risks/{data.RISK_ID}?after=210"
    request = sent(gateway, "PUT", path)
    assert request.headers["if-match"] == "4"
    assert json.loads(request.content) == {"treatment": "accept", "reason": "within appetite"}


async def test_a_stale_reassessment_is_refused_readably_with_its_form_open(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.on(
        "POST",
        f"/risk/v1/risks/{data.RISK_ID}/assessments",
        {
            "title": "Conflict",
            "detail": "risk changed meanwhile: version 5, not 4",
            "code": "VersionConflict",
        },
        409,
    )
    client = await client_of(gateway, tmp_path, "risk-officer")
    page = await client.get(f"/risk/risks/{data.RISK_ID}")
    answer = await client.post(
        f"/risk/risks/{data.RISK_ID}/assessments",
        data={
            "csrf_token": csrf_of(page.text),
            "version": "4",
            "likelihood": "2",
            "impact": "3",
            "reason": "new control works",
        },
    )
    assert answer.status_code == 409
    assert "risk changed meanwhile: version 5, not 4" in answer.text
    assert '<details class="risk-form" open>' in answer.text
    assert (
        'id="rf-assessments-reason" name="reason" type="text" required value="new control works"'
        in answer.text
    )
    assert 'id="rf-treatment-reason" name="reason" type="text" required value=""' in answer.text


async def test_an_auditor_sees_no_forms_on_a_risk(gateway: FakeGateway, tmp_path: Path) -> None:
    client = await client_of(gateway, tmp_path, "auditor")
    html = (await client.get(f"/risk/risks/{data.RISK_ID}")).text
    assert "Work on this risk" not in html
    answer = await client.post(f"/risk/risks/{data.RISK_ID}/reviews", data={"note": "x"})
    assert answer.status_code == 403

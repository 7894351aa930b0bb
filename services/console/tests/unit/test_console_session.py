"""Log-in, log-out, CSRF, security headers and the 403 page, against a fake gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fake_gateway import FakeGateway, browser, csrf_of, logged_in

pytestmark = pytest.mark.unit


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway()
    fake.on("GET", "/ledger/v1/booking-requests", {"items": [], "next_cursor": None})
    return fake


async def test_a_visitor_without_session_is_sent_to_the_login_page(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = browser(gateway.app(tmp_path))
    answer = await client.get("/?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=%2F%3Fx%3D1")


async def test_login_sets_an_httponly_strict_cookie_and_logout_ends_it(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    cookie = next(c for c in client.cookies.jar if c.name == "console_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert str(cookie.get_nonstandard_attr("SameSite")).lower() == "strict"
    home = await client.get("/")
    assert home.status_code == 200 and "accountant" in home.text
    await client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_a_wrong_password_is_a_readable_refusal_not_a_session(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = browser(gateway.app(tmp_path))
    form = (await client.get("/login")).text
    nonce = form.split('name="login_nonce" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        "/login", data={"username": "trader", "password": "nope", "login_nonce": nonce}
    )
    assert answer.status_code == 401
    assert "Unknown username or wrong password." in answer.text
    assert "console_session" not in answer.cookies


async def test_login_without_its_form_token_is_refused(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = browser(gateway.app(tmp_path))
    answer = await client.post("/login", data={"username": "trader", "password": "demo-trader"})
    assert answer.status_code == 400
    assert not any(c.name == "console_session" for c in client.cookies.jar)


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    answer = await client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert answer.status_code == 400
    assert (await client.get("/", follow_redirects=False)).status_code == 200  # still logged in


async def test_login_never_redirects_off_site(gateway: FakeGateway, tmp_path: Path) -> None:
    client = browser(gateway.app(tmp_path))
    form = (await client.get("/login?next=//evil.example/x")).text
    assert 'name="next" value="/"' in form


async def test_every_page_carries_the_security_headers(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    for path in ["/", "/login", "/static/console.css", "/no-such-page"]:
        headers = (await client.get(path)).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


async def test_a_tampered_session_cookie_is_no_session(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = await logged_in(browser(gateway.app(tmp_path)), "trader")
    value = client.cookies["console_session"]
    client.cookies.set("console_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_an_expired_gateway_token_ends_the_session(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    # The console caches /auth/me briefly; a page the API refuses with 401 ends the session too.
    gateway.on(
        "GET",
        "/ledger/v1/booking-requests",
        {"title": "Not authenticated", "detail": "expired"},
        401,
    )
    client = await logged_in(browser(gateway.app(tmp_path)), "accountant")
    answer = await client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and "expired=1" in answer.headers["location"]


async def test_the_german_locale_writes_amounts_and_dates_the_german_way(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    from console.api.i18n import Formats

    german = Formats("de", ZoneInfo("Europe/Berlin"))
    english = Formats("en", ZoneInfo("Europe/Berlin"))
    assert german.money(123456, "EUR") == "1.234,56\xa0€"
    assert english.money(123456, "EUR") == "€1,234.56"
    assert german.parse_amount("1.234,56", "EUR") == 123456
    assert english.parse_amount("1,234.56", "EUR") == 123456
    assert german.when("2026-12-03T08:00:00Z") == "03.12.2026, 09:00:00"


async def test_a_client_flooding_the_login_form_is_held_back(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    client = browser(gateway.app(tmp_path, login_attempts_per_minute=3))
    statuses = []
    for _ in range(4):
        form = (await client.get("/login")).text
        nonce = form.split('name="login_nonce" value="', 1)[1].split('"', 1)[0]
        answer = await client.post(
            "/login", data={"username": "trader", "password": "wrong", "login_nonce": nonce}
        )
        statuses.append(answer.status_code)
    assert statuses == [401, 401, 401, 429]
    logins = [c for c in gateway.calls if c.url.path == "/auth/login"]
    assert len(logins) == 3  # the fourth never reached the gateway

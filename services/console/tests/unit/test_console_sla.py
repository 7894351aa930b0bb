"""The console's SLA rule: on time, at risk (under 25 % of the target span or under an hour
left, or the service warned), breached (due passed or the service flagged it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console.domain.sla import Standing, at_risk, ticket_sla

pytestmark = pytest.mark.unit

OPENED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def ticket(**changes: Any) -> dict[str, Any]:
    """A ticket as the API answers it: resolution due in 8 h, first response in 4 h."""
    base: dict[str, Any] = {
        "status": "open",
        "opened_at": OPENED.isoformat(),
        "first_response_warning_at": (OPENED + timedelta(hours=3)).isoformat(),
        "first_response_due_at": (OPENED + timedelta(hours=4)).isoformat(),
        "resolution_warning_at": (OPENED + timedelta(hours=6)).isoformat(),
        "resolution_due_at": (OPENED + timedelta(hours=8)).isoformat(),
        "first_response_warned": False,
        "first_response_breached": False,
        "resolution_warned": False,
        "resolution_breached": False,
    }
    return {**base, **changes}


def test_a_fresh_ticket_is_on_time_and_counts_down_to_its_first_deadline() -> None:
    sla = ticket_sla(ticket(), OPENED + timedelta(minutes=30))
    assert sla.standing is Standing.ON_TIME
    assert sla.next_due is not None and sla.next_due.name == "first_response"
    assert sla.left(OPENED + timedelta(minutes=30)) == timedelta(hours=3, minutes=30)


def test_less_than_a_quarter_of_the_span_left_is_at_risk() -> None:
    # 8 h span: a quarter is 2 h; with 1 h 59 min left it is at risk, with 2 h 01 min not.
    start, due = OPENED, OPENED + timedelta(hours=8)
    assert at_risk(start, due, due - timedelta(hours=1, minutes=59))
    assert not at_risk(start, due, due - timedelta(hours=2, minutes=1))


def test_less_than_an_hour_left_is_at_risk_even_on_a_short_target() -> None:
    # A 2 h target: a quarter is 30 min, yet 50 min left is under the hour.
    start, due = OPENED, OPENED + timedelta(hours=2)
    assert at_risk(start, due, due - timedelta(minutes=50))
    assert not at_risk(start, due, due - timedelta(minutes=61))
    # A 4 h target with 1 h 10 min left: more than a quarter and more than an hour.
    assert not at_risk(start, OPENED + timedelta(hours=4), OPENED + timedelta(hours=2, minutes=50))


def test_a_one_hour_target_is_not_at_risk_from_its_start_but_from_its_second_half() -> None:
    start, due = OPENED, OPENED + timedelta(hours=1)
    assert not at_risk(start, due, start + timedelta(minutes=1))
    assert not at_risk(start, due, start + timedelta(minutes=29))
    assert at_risk(start, due, start + timedelta(minutes=31))


def test_the_services_warning_makes_a_ticket_at_risk_before_the_console_would() -> None:
    now = OPENED + timedelta(minutes=10)
    assert ticket_sla(ticket(first_response_warned=True), now).standing is Standing.AT_RISK
    passed_warning = ticket(first_response_warning_at=(OPENED + timedelta(minutes=5)).isoformat())
    assert ticket_sla(passed_warning, now).standing is Standing.AT_RISK


def test_a_passed_deadline_is_breached_before_the_service_flags_it() -> None:
    sla = ticket_sla(ticket(), OPENED + timedelta(hours=4, minutes=1))
    assert sla.standing is Standing.BREACHED
    assert sla.left(OPENED + timedelta(hours=4, minutes=1)) == timedelta(minutes=-1)


def test_a_breach_stays_breached_after_the_clock_stopped() -> None:
    resolved = ticket(
        status="resolved",
        first_response_due_at=None,
        resolution_due_at=None,
        first_response_breached=True,
    )
    assert ticket_sla(resolved, OPENED + timedelta(days=2)).standing is Standing.BREACHED


def test_a_pending_ticket_is_paused_and_a_resolved_one_met() -> None:
    stopped = {
        "first_response_due_at": None,
        "resolution_due_at": None,
        "first_response_warning_at": None,
        "resolution_warning_at": None,
    }
    now = OPENED + timedelta(days=1)
    assert ticket_sla(ticket(status="pending", **stopped), now).standing is Standing.PAUSED
    assert ticket_sla(ticket(status="resolved", **stopped), now).standing is Standing.MET
    assert ticket_sla(ticket(status="resolved", **stopped), now).next_due is None


def test_the_worst_clock_decides() -> None:
    # First response answered (stopped), resolution running and nearly due.
    answered = ticket(first_response_due_at=None, first_response_warning_at=None)
    assert ticket_sla(answered, OPENED + timedelta(hours=1)).standing is Standing.ON_TIME
    assert (
        ticket_sla(answered, OPENED + timedelta(hours=7, minutes=30)).standing is Standing.AT_RISK
    )

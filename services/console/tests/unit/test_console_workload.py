"""The team's workload rule and order, and My work's request states and SLA clocks (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from console.domain.my_work import booked_amounts, by_urgency, request_state, sla_clock
from console.domain.workload import HolderKind, WorkItem, is_overloaded, loads, oldest_first

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def task(
    holder: str, kind: str = "tickets", hours: int = 0, holder_kind: HolderKind = "person"
) -> WorkItem:
    return WorkItem(
        kind,
        holder,
        holder_kind,
        T0 + timedelta(hours=hours),
        f"{kind}-{hours}",
        "/x",
        "Ticket",
    )


def test_a_person_is_overloaded_only_above_the_threshold() -> None:
    assert not is_overloaded("person", 8, threshold=8)
    assert is_overloaded("person", 9, threshold=8)


def test_a_team_or_a_queue_is_never_overloaded() -> None:
    assert not is_overloaded("team", 100, threshold=8)
    assert not is_overloaded("unassigned", 100, threshold=8)


def test_every_task_is_listed_oldest_first_whatever_its_silo() -> None:
    items = [
        task("anna", "tickets", hours=5),
        task("Accounting", "approvals", hours=1, holder_kind="team"),
        task("bert", "overdue", hours=-48),
        task("Risk management", "breaches", hours=3, holder_kind="team"),
    ]
    assert [t.kind for t in oldest_first(items)] == ["overdue", "approvals", "breaches", "tickets"]


def test_loads_count_per_holder_and_kind_most_loaded_first() -> None:
    items = [task("anna", "tickets", hours=h) for h in range(10)]
    items += [task("bert", "tickets", hours=1), task("bert", "overdue", hours=-1)]
    items += [task("it-support", "tickets", hours=2, holder_kind="unassigned")]
    rows = loads(items, threshold=8)
    assert [(r.holder, r.total, r.overloaded) for r in rows] == [
        ("anna", 10, True),
        ("bert", 2, False),
        ("it-support", 1, False),
    ]
    assert rows[1].counts == {"approvals": 0, "tickets": 1, "breaches": 0, "overdue": 1}
    assert rows[1].oldest == T0 - timedelta(hours=1)


def test_the_same_name_as_a_person_and_as_a_queue_are_two_rows() -> None:
    rows = loads([task("ops"), task("ops", holder_kind="unassigned")])
    assert sorted(r.holder_kind for r in rows) == ["person", "unassigned"]


@pytest.mark.parametrize(
    ("status", "clearance", "state", "tone"),
    [
        ("pending", {"status": "awaiting"}, "awaiting_clearance", "info"),
        ("pending", {"status": "cleared"}, "cleared", "warn"),
        ("pending", {"status": "not_required"}, "awaiting_approval", "warn"),
        ("pending", {"status": "refused", "reason": "over limit L1"}, "refused", "bad"),
        ("approved", {"status": "cleared"}, "approved", "ok"),
        ("rejected", {"status": "not_required"}, "rejected", "bad"),
        ("expired", {"status": "awaiting"}, "expired", "muted"),
    ],
)
def test_the_submitter_sees_one_state_per_request(
    status: str, clearance: dict[str, str], state: str, tone: str
) -> None:
    seen = request_state({"status": status, "clearance": clearance, "reason": "no voucher"})
    assert (seen.key, seen.tone) == (state, tone)


def test_a_refusal_or_rejection_carries_its_reason() -> None:
    refused = request_state(
        {"status": "pending", "clearance": {"status": "refused", "reason": "over limit L1"}}
    )
    rejected = request_state({"status": "rejected", "clearance": {}, "reason": "no voucher"})
    assert (refused.reason, rejected.reason) == ("over limit L1", "no voucher")
    assert rejected.decided and not refused.decided


def ticket(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "status": "open",
        "opened_at": T0.isoformat(),
        "first_response_at": None,
        "first_response_due_at": (T0 + timedelta(hours=4)).isoformat(),
        "first_response_warning_at": (T0 + timedelta(hours=3)).isoformat(),
        "resolution_due_at": (T0 + timedelta(hours=24)).isoformat(),
        "resolution_warning_at": (T0 + timedelta(hours=18)).isoformat(),
        "first_response_warned": False,
        "first_response_breached": False,
        "resolution_warned": False,
        "resolution_breached": False,
    }
    return base | fields


def test_the_first_response_clock_runs_until_the_first_response() -> None:
    clock = sla_clock(ticket(), T0 + timedelta(hours=1))
    assert (clock.state, clock.clock, clock.seconds_left) == ("on_time", "first_response", 3 * 3600)
    assert sla_clock(ticket(), T0 + timedelta(hours=3, minutes=1)).state == "at_risk"
    late = sla_clock(ticket(), T0 + timedelta(hours=5))
    assert (late.state, late.seconds_left) == ("breached", -3600)


def test_after_the_first_response_the_resolution_clock_runs() -> None:
    answered = ticket(first_response_at=(T0 + timedelta(hours=1)).isoformat())
    clock = sla_clock(answered, T0 + timedelta(hours=5))
    assert (clock.state, clock.clock) == ("on_time", "resolution")


def test_the_services_flags_win_and_a_resolved_ticket_has_no_clock() -> None:
    assert sla_clock(ticket(first_response_breached=True), T0).state == "breached"
    assert sla_clock(ticket(first_response_warned=True), T0).state == "at_risk"
    assert sla_clock(ticket(status="resolved"), T0 + timedelta(days=9)).state == "stopped"


def test_tickets_due_first_come_first() -> None:
    soon = ticket(first_response_due_at=(T0 + timedelta(hours=1)).isoformat(), title="soon")
    later = ticket(title="later")
    none = ticket(first_response_due_at=None, title="none")
    ordered = by_urgency([none, later, soon], T0)
    assert [t["title"] for t in ordered] == ["soon", "later", "none"]


def test_a_request_books_the_sum_of_its_debit_lines_per_currency() -> None:
    lines = [
        {"side": "debit", "amount": 100, "currency": "EUR"},
        {"side": "debit", "amount": 50, "currency": "EUR"},
        {"side": "credit", "amount": 150, "currency": "EUR"},
        {"side": "debit", "amount": 7, "currency": "USD"},
    ]
    assert booked_amounts({"lines": lines}) == [(150, "EUR"), (7, "USD")]

"""The lifecycle table: every (from, to) pair is either allowed or refused with a 409 that
names the allowed targets; reopening only within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from shared_kernel.errors import Conflict, DomainError
from tickets.domain import (
    Status,
    TransitionNotAllowed,
    allowed_from,
    ensure_transition,
    parse_status,
)

from .tickets_fixtures import new_ticket, walk_to

pytestmark = pytest.mark.unit

S = Status
EXPECTED = {
    S.NEW: {S.OPEN, S.PENDING, S.RESOLVED, S.CANCELLED},
    S.OPEN: {S.PENDING, S.RESOLVED, S.CANCELLED},
    S.PENDING: {S.OPEN, S.RESOLVED, S.CANCELLED},
    S.RESOLVED: {S.OPEN, S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
WINDOW = timedelta(days=7)


@pytest.mark.parametrize(("current", "target"), list(product(Status, Status)))
def test_the_lifecycle_table(current: Status, target: Status) -> None:
    if target in EXPECTED[current]:
        ensure_transition(current, target)
        return
    with pytest.raises(TransitionNotAllowed) as refused:
        ensure_transition(current, target)
    assert refused.value.status == 409
    assert refused.value.field == "to"
    named = refused.value.detail.split("allowed: ")[1]
    if EXPECTED[current]:
        assert named == ", ".join(sorted(s.value for s in EXPECTED[current]))
    else:
        assert "final" in named


@pytest.mark.parametrize("status", list(Status))
def test_allowed_targets_are_listed_in_order(status: Status) -> None:
    assert allowed_from(status) == sorted(s.value for s in EXPECTED[status])


@pytest.mark.parametrize("path", [[S.OPEN, S.PENDING, S.OPEN, S.RESOLVED, S.CLOSED]])
def test_a_ticket_walks_the_table_and_records_each_step(path: list[Status]) -> None:
    ticket = new_ticket()
    for step, target in enumerate(path):
        ticket.transition(target, reason=f"step {step}", at=NOW, reopen_window=WINDOW)
    changes = [e for e in ticket.pending_events() if type(e).__name__ == "TicketStatusChanged"]
    assert [(c.previous_status, c.status) for c in changes] == [  # type: ignore[attr-defined]
        ("new", "open"),
        ("open", "pending"),
        ("pending", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
    ]
    assert [c.reason for c in changes] == [f"step {n}" for n in range(5)]  # type: ignore[attr-defined]


def test_a_resolved_ticket_reopens_within_the_window_only() -> None:
    ticket = walk_to(new_ticket(), S.RESOLVED, at=NOW)
    ticket.transition(S.OPEN, reason="not fixed", at=NOW + WINDOW, reopen_window=WINDOW)
    assert ticket.status is S.OPEN

    ticket = walk_to(new_ticket(), S.RESOLVED, at=NOW)
    with pytest.raises(Conflict) as late:
        ticket.transition(
            S.OPEN, reason="late", at=NOW + WINDOW + timedelta(seconds=1), reopen_window=WINDOW
        )
    assert late.value.code == "ReopenWindowExpired"


@pytest.mark.parametrize("final", [S.CLOSED, S.CANCELLED])
def test_a_final_ticket_refuses_further_work(final: Status) -> None:
    ticket = walk_to(new_ticket(), final, at=NOW)
    with pytest.raises(Conflict):
        ticket.assign("user:bob", how="assign", at=NOW)
    with pytest.raises(Conflict):
        ticket.reply("m1", author="user:bob", body="hello", by_agent=True, at=NOW)


def test_an_unknown_status_is_a_422_naming_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        parse_status("reopened")
    assert (refused.value.status, refused.value.field) == (422, "to")

"""The priority matrix, and how the ticket aggregate uses it: priority from impact x
urgency, recomputed on reclassification, raised one step by an SLA breach."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from shared_kernel.errors import DomainError
from tickets.domain import DEFAULT_MATRIX, PriorityMatrix, raised
from tickets.domain.events import TicketClassified, TicketEscalated, TicketPriorityChanged

from .tickets_fixtures import MONDAY_9_BERLIN, new_ticket, queue

pytestmark = pytest.mark.unit

LEVELS = range(1, 5)


def test_the_default_matrix_is_the_itil_table() -> None:
    assert DEFAULT_MATRIX.to_rows() == [
        [1, 1, 2, 3],
        [1, 2, 3, 3],
        [2, 3, 3, 4],
        [3, 3, 4, 4],
    ]


@pytest.mark.parametrize(("impact", "urgency"), list(product(LEVELS, LEVELS)))
def test_priority_never_drops_when_impact_or_urgency_rises(impact: int, urgency: int) -> None:
    priority = DEFAULT_MATRIX.priority(impact, urgency)
    if impact > 1:
        assert DEFAULT_MATRIX.priority(impact - 1, urgency) <= priority
    if urgency > 1:
        assert DEFAULT_MATRIX.priority(impact, urgency - 1) <= priority
    assert DEFAULT_MATRIX.priority(urgency, impact) == priority  # symmetric


@pytest.mark.parametrize(
    ("impact", "urgency", "field"),
    [(0, 1, "impact"), (5, 1, "impact"), (1, 0, "urgency"), (2, True, "urgency")],
)
def test_levels_outside_1_to_4_are_refused(impact: int, urgency: int, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        DEFAULT_MATRIX.priority(impact, urgency)
    assert refused.value.field == field


@pytest.mark.parametrize(
    "rows", [[[1, 2, 3, 4]] * 3, [[1, 2, 3]] * 4, [[1, 2, 3, 5]] * 4, [[0, 1, 1, 1]] * 4]
)
def test_a_malformed_matrix_is_refused(rows: list[list[int]]) -> None:
    with pytest.raises(DomainError) as refused:
        PriorityMatrix.from_rows(rows)
    assert refused.value.field == "priority_matrix"


def test_a_queue_matrix_decides_the_priority() -> None:
    everything_low = PriorityMatrix.from_rows([[4] * 4] * 4)
    ticket = new_ticket(1, 1, in_queue=queue("low-only", matrix=everything_low))
    assert ticket.priority == 4
    assert new_ticket(1, 1).priority == 1


def test_reclassifying_recomputes_the_priority() -> None:
    ticket = new_ticket(3, 3)
    assert ticket.priority == 3
    ticket.mark_saved()

    ticket.classify(
        DEFAULT_MATRIX, impact=1, urgency=None, reason="whole floor", at=MONDAY_9_BERLIN
    )

    events = ticket.pending_events()
    assert events[0] == TicketClassified(
        ticket_id="t-1", impact=1, urgency=3, reason="whole floor", at=MONDAY_9_BERLIN
    )
    assert events[1] == TicketPriorityChanged(
        ticket_id="t-1", priority=2, previous_priority=3, reason="whole floor", at=MONDAY_9_BERLIN
    )
    assert (ticket.impact, ticket.urgency, ticket.priority) == (1, 3, 2)


def test_a_reclassification_to_the_same_priority_records_no_priority_change() -> None:
    ticket = new_ticket(1, 2)  # priority 1
    ticket.mark_saved()
    ticket.classify(DEFAULT_MATRIX, impact=2, urgency=1, reason="swap", at=MONDAY_9_BERLIN)
    assert [type(e) for e in ticket.pending_events()] == [TicketClassified]
    ticket.mark_saved()
    ticket.classify(DEFAULT_MATRIX, impact=2, urgency=1, reason="same", at=MONDAY_9_BERLIN)
    assert ticket.pending_events() == []


@pytest.mark.parametrize(("before", "after"), [(4, 3), (3, 2), (2, 1), (1, 1)])
def test_raising_a_priority_is_one_step_and_stops_at_critical(before: int, after: int) -> None:
    assert raised(before) == after


def test_a_breach_escalates_and_raises_the_priority_once() -> None:
    ticket = new_ticket(2, 2)  # priority 2: first response 4 h
    ticket.mark_saved()

    breaches = ticket.raise_due_alarms(MONDAY_9_BERLIN + timedelta(hours=5))
    ticket.escalate("it-managers", reason="SLA breached", at=MONDAY_9_BERLIN)

    assert [b.clock for b in breaches] == ["first_response"]
    assert ticket.priority == 1
    assert ticket.escalated_to == "it-managers"
    kinds = [type(e).__name__ for e in ticket.pending_events()]
    assert kinds == [
        "SlaWarningRaised",
        "SlaBreached",
        "TicketEscalated",
        "TicketPriorityChanged",
    ]
    assert isinstance(ticket.pending_events()[2], TicketEscalated)
    ticket.mark_saved()
    # The same clock never warns or breaches again, even with the shorter P1 target.
    again = ticket.raise_due_alarms(MONDAY_9_BERLIN + timedelta(hours=5))
    assert [type(e).__name__ for e in ticket.pending_events()] == [
        "SlaWarningRaised",
        "SlaBreached",
    ]  # the resolution clock (P1: 4 h) is due now: its own warning and breach
    assert [a.clock for a in again] == ["resolution"]
    ticket.mark_saved()
    assert ticket.raise_due_alarms(MONDAY_9_BERLIN + timedelta(days=30)) == []
    assert ticket.pending_events() == []

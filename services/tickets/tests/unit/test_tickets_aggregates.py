"""Aggregate behaviour beyond lifecycle and priority: round-robin turns, conversation and
the SLA clocks, links and merges, alert sources, folding from history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shared_kernel.errors import Conflict, DomainError
from tickets.domain import AlertSource, RoundRobin, Status, Ticket, source_id_for
from tickets.domain.events import QueueRoundRobinAdvanced

from .tickets_fixtures import MONDAY_9_BERLIN, new_ticket, queue, walk_to

pytestmark = pytest.mark.unit

HOUR = timedelta(hours=1)


def test_round_robin_takes_turns_and_skips_the_unavailable() -> None:
    team = queue(members=("a", "b", "c"))
    turns = RoundRobin.of(team.id)
    assert [turns.hand_out(team, f"t{n}") for n in range(4)] == ["a", "b", "c", "a"]

    team.set_availability("b", False)
    assert [turns.hand_out(team, f"u{n}") for n in range(3)] == ["c", "a", "c"]
    team.set_availability("a", False)
    team.set_availability("c", False)
    assert turns.hand_out(team, "v") is None


def test_round_robin_state_is_its_last_turn() -> None:
    team = queue(members=("a", "b", "c"))
    turns = RoundRobin.load(
        RoundRobin.of(team.id).id,
        [QueueRoundRobinAdvanced(queue_id=team.id, member="b", ticket_id="t")],
    )
    assert turns.next_in_turn(team) == "c"


def test_queue_membership_rules() -> None:
    team = queue(members=("a",))
    with pytest.raises(Conflict):
        team.add_member("a")
    with pytest.raises(DomainError) as stranger:
        team.set_availability("zed", False)
    assert stranger.value.field == "member"


def test_the_first_agent_reply_stops_the_first_response_clock() -> None:
    ticket = new_ticket(1, 1)  # first response 1 h
    ticket.reply("m1", author="user:tina", body="hello?", by_agent=False, at=MONDAY_9_BERLIN)
    assert ticket.sla is not None and ticket.sla.first_response.stopped_at is None

    ticket.reply("m2", author="user:al", body="on it", by_agent=True, at=MONDAY_9_BERLIN + HOUR / 2)

    assert ticket.sla.first_response.stopped_at == MONDAY_9_BERLIN + HOUR / 2
    assert ticket.raise_due_alarms(MONDAY_9_BERLIN + 2 * HOUR) == []
    assert ticket.sla.deadlines().first_response_due_at is None


def test_pending_pauses_both_clocks_and_a_requester_reply_resumes_them() -> None:
    ticket = new_ticket(1, 1)
    walk_to(ticket, Status.PENDING, at=MONDAY_9_BERLIN + HOUR / 2)
    assert ticket.sla is not None
    assert ticket.sla.deadlines().resolution_due_at is None
    assert ticket.raise_due_alarms(MONDAY_9_BERLIN + 5 * HOUR) == []

    ticket.reply(
        "m", author="user:tina", body="logs", by_agent=False, at=MONDAY_9_BERLIN + 3 * HOUR
    )

    assert ticket.status is Status.OPEN
    # 30 minutes of the hour ran before the pause; 30 remain from the resumption.
    assert ticket.sla.deadlines().first_response_due_at == MONDAY_9_BERLIN + 3.5 * HOUR


def test_a_ticket_folds_back_from_its_events() -> None:
    ticket = new_ticket(2, 2)
    ticket.assign("user:al", how="take", at=MONDAY_9_BERLIN)
    walk_to(ticket, Status.PENDING, at=MONDAY_9_BERLIN + HOUR)
    loaded = Ticket.load(ticket.id, ticket.pending_events())
    assert loaded.version == len(ticket.pending_events())
    assert (loaded.status, loaded.assignee, loaded.priority) == (Status.PENDING, "user:al", 2)
    assert loaded.sla == ticket.sla


def test_links_are_recorded_on_both_tickets() -> None:
    incident = new_ticket(ticket_id="incident")
    problem = new_ticket(ticket_id="problem", ticket_type="problem")
    incident.link("caused_by", problem, at=MONDAY_9_BERLIN)
    assert incident.linked("caused_by") == ["problem"]
    assert problem.linked("causes") == ["incident"]

    with pytest.raises(DomainError) as not_a_problem:
        problem.link("caused_by", incident, at=MONDAY_9_BERLIN)
    assert not_a_problem.value.code == "NotAProblem"
    with pytest.raises(DomainError):
        incident.link("parent_of", incident, at=MONDAY_9_BERLIN)


def test_merging_closes_the_duplicate_and_points_to_the_survivor() -> None:
    duplicate, survivor = new_ticket(ticket_id="dup"), new_ticket(ticket_id="keep")
    duplicate.merge_into(survivor, reason="same printer", at=MONDAY_9_BERLIN)
    assert duplicate.status is Status.CLOSED
    assert duplicate.merged_into == "keep"
    assert duplicate.linked("duplicate_of") == ["keep"]
    assert survivor.linked("duplicated_by") == ["dup"]
    assert survivor.status is Status.NEW

    with pytest.raises(Conflict):
        new_ticket(ticket_id="x").merge_into(duplicate, reason="closed", at=MONDAY_9_BERLIN)


def test_an_alert_source_keeps_one_open_incident() -> None:
    assert source_id_for("DB-1 ", "Disk") == source_id_for("db-1", "disk")
    assert source_id_for("db-1", "disk") != source_id_for("db-1", "cpu")
    source = AlertSource.for_check("db-1", "disk")
    source.incident_opened("db-1", "disk", "t-1")
    assert source.open_ticket_id == "t-1"
    source.recovered()
    assert source.open_ticket_id is None
    source.recovered()  # nothing open: nothing recorded
    assert len(source.pending_events()) == 2

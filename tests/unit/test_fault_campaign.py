"""`make faults`' pure parts: the books of the load's requests, the checks' judgement of what
the read models hold, and the closing table."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.accounting import Findings, Outcome, RowReport, Rule
from tests.faults.load import first_acknowledged_after
from tests.faults.reconcile import (
    ReadModels,
    differences,
    key_in,
    reconcile,
    topic_duplicates,
    trial_balance_problems,
)
from tests.faults.table import HEADER, by_code, table

pytestmark = pytest.mark.unit


def acked(kind: str, key: str, amount: int = 100, at: float = 0.0) -> Outcome:
    return Outcome(kind, key, amount, 201, resource_id=f"id-{key}", at=at)


def refused(kind: str, key: str, status: int | None = 503, amount: int = 100) -> Outcome:
    return Outcome(kind, key, amount, status, failure=None if status else "ReadTimeout")


def seen(entries: list[str], deals: list[str], exposure: int, cleared: bool = True) -> ReadModels:
    status = "cleared" if cleared else "awaiting"
    return ReadModels(Counter(entries), Counter(deals), {k: status for k in deals}, exposure)


# -- the books of requests ---------------------------------------------------------------------


def test_a_row_counts_acknowledgements_5xx_by_code_and_other_failures() -> None:
    row = RowReport("kafka down", Rule())
    row.outcomes = [
        acked("entry", "a"),
        acked("deal", "b"),
        refused("entry", "c", 503),
        refused("entry", "d", 503),
        refused("deal", "e", 502),
        refused("deal", "f", None),
        refused("deal", "g", 429),
    ]
    assert row.acknowledged == 2
    assert row.server_errors == Counter({503: 2, 502: 1})
    assert row.other_failures == Counter({"ReadTimeout": 1, "429": 1})


def test_a_2xx_without_an_id_is_not_an_acknowledgement() -> None:
    assert not Outcome("entry", "k", 1, 201, resource_id=None).acknowledged


def test_a_row_holds_only_with_the_5xx_its_rule_allows() -> None:
    row = RowReport("postgres restarted", Rule(frozenset({503})))
    row.outcomes = [acked("entry", "a"), refused("entry", "b", 503)]
    assert row.holds
    row.outcomes.append(refused("entry", "c", 500))
    assert not row.holds
    assert "5xx not allowed here: 500" in row.reasons()


def test_a_row_with_a_lost_command_or_a_problem_does_not_hold() -> None:
    row = RowReport("broker killed", Rule())
    row.outcomes = [acked("entry", "a")]
    row.findings = Findings(lost=["entry id-a"])
    assert row.reasons() == ["1 acknowledged commands lost"]
    row.findings = Findings(problems=["ledger verify: BROKEN"])
    assert row.reasons() == ["ledger verify: BROKEN"]


def test_a_row_where_nothing_was_acknowledged_does_not_hold() -> None:
    row = RowReport("kafka down", Rule(frozenset({503})))
    row.outcomes = [refused("entry", "a", 503)]
    assert "no command was acknowledged" in row.reasons()


def test_recovery_is_timed_from_the_fault_lifted_to_the_next_acknowledgement() -> None:
    outcomes = [acked("entry", "a", at=1.0), refused("entry", "b"), acked("deal", "c", at=7.5)]
    assert first_acknowledged_after(outcomes, 5.0) == 2.5
    assert first_acknowledged_after(outcomes, 8.0) is None


# -- the checks ----------------------------------------------------------------------------------


def test_the_key_travels_in_the_text() -> None:
    assert key_in("Fault campaign entry key faults-123") == "faults-123"
    assert key_in("Settlement with ACME") is None
    assert key_in(None) is None


def test_every_acknowledged_command_found_once_reconciles() -> None:
    outcomes = [acked("entry", "a", 100), acked("deal", "b", 30), refused("entry", "c")]
    found = reconcile(outcomes, seen(["a"], ["b"], exposure=130))
    assert (found.lost, found.duplicates_applied, found.problems) == ([], [], [])
    assert found.applied_unacknowledged == 0


def test_an_acknowledged_command_missing_from_its_read_model_is_lost() -> None:
    outcomes = [acked("entry", "a", 100), acked("deal", "b", 30)]
    # The deal's key in the entries' read model does not count for the deal.
    found = reconcile(outcomes, seen(["a", "b"], [], exposure=130))
    assert found.lost == ["deal id-b"]


def test_a_command_applied_twice_is_reported_and_risk_counting_twice_too() -> None:
    found = reconcile([acked("entry", "a", 100)], seen(["a", "a"], [], exposure=100))
    assert found.duplicates_applied == ["entry key a"]
    found = reconcile([acked("entry", "a", 100)], seen(["a"], [], exposure=200))
    assert found.problems == ["risk's exposure 200 != 100, the sum of what the ledger holds"]


def test_a_command_applied_without_acknowledgement_counts_in_the_exposure() -> None:
    """A timeout after the commit: applied, not lost, and risk must count it."""
    outcomes = [acked("entry", "a", 100), refused("entry", "b", None, amount=5)]
    found = reconcile(outcomes, seen(["a", "b"], [], exposure=105))
    assert found.applied_unacknowledged == 1 and not found.problems
    assert "applied whose client got no acknowledgement" in found.notes[0]


def test_deals_risk_has_not_cleared_are_a_problem() -> None:
    found = reconcile([acked("deal", "b", 30)], seen([], ["b"], exposure=30, cleared=False))
    assert found.problems == ["1 deals not cleared by risk"]


def test_the_trial_balance_must_sum_to_zero() -> None:
    balanced = {"currency": "EUR", "debits": 5, "credits": 5}
    balanced |= {"closing_debit_balances": 7, "closing_credit_balances": 7}
    assert trial_balance_problems({"totals": [balanced]}) == []
    broken = {**balanced, "credits": 4, "closing_credit_balances": 6}
    assert trial_balance_problems({"totals": [broken]}) == [
        "trial balance EUR: debits != credits",
        "trial balance EUR: closing balances do not sum to zero",
    ]


def test_ids_repeated_on_a_topic_are_counted_per_topic() -> None:
    assert topic_duplicates({"ledger.events": ["1", "2", "1", "1"], "risk.events": ["3"]}) == {
        "ledger.events": 2,
        "risk.events": 0,
    }


def test_a_rebuild_is_compared_key_by_key() -> None:
    assert differences({"a": 1, "b": [1]}, {"a": 1, "b": [1]}) == []
    assert differences({"a": 1, "b": [1]}, {"a": 2, "c": 0}) == ["a", "b", "c"]


# -- the table -----------------------------------------------------------------------------------


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_the_table_has_one_line_per_row_with_the_issue_columns() -> None:
    held = RowReport("broker killed", Rule(), recovery="commands 0.4 s")
    held.outcomes = [acked("entry", "a"), acked("deal", "b")]
    held.findings = Findings(topic_duplicates=3)
    failed = RowReport("postgres restarted", Rule(frozenset({503})))
    failed.outcomes = [acked("entry", "a"), refused("entry", "b", 500)]
    skipped = RowReport("relay leader killed", Rule(), not_run="replicas not available")
    lines = table([held, failed, skipped]).splitlines()
    assert cells(lines[0]) == list(HEADER)
    assert len(lines) == 5
    first = cells(lines[2])
    assert first[:7] == ["1. broker killed", "2", "2", "0", "0", "0", first[6]]
    assert "ids twice on the topics so far: 3, applied once" in first[6]
    assert first[7:] == ["commands 0.4 s", "yes"]
    second = cells(lines[3])
    assert second[3] == "500: 1"
    assert second[-1] == "no: 5xx not allowed here: 500"
    assert cells(lines[4])[-1] == "not run: replicas not available"


def test_a_cell_never_breaks_its_row() -> None:
    row = RowReport("a | b", Rule())
    row.outcomes = [acked("entry", "a")]
    row.findings = Findings(problems=["line\nbreak | pipe"])
    line = table([row]).splitlines()[2]
    assert len(cells(line)) == len(HEADER)


def test_codes_are_listed_in_order() -> None:
    assert by_code(Counter({503: 4, 502: 1})) == "502: 1, 503: 4"
    assert by_code(Counter()) == "0"


# -- ports ---------------------------------------------------------------------------------------


def test_ports_are_chosen_below_the_ephemeral_range_and_never_twice() -> None:
    from random import Random

    from tests.faults.ports import ephemeral_range, quiet_ports

    assert ephemeral_range("32768\t60999\n") == (32768, 60999)
    taken: set[int] = set()
    rng = Random(7)
    firsts = [quiet_ports(3, taken, below=10_020, free=lambda _: True, rng=rng) for _ in range(4)]
    assert all(first >= 10_000 and first + 2 < 10_020 for first in firsts)
    assert len(taken) == 12  # four runs of three, none shared
    busy = set(range(10_000, 10_010))
    first = quiet_ports(2, set(), below=10_012, free=lambda port: port not in busy, rng=rng)
    assert first == 10_010

"""The relay's gap rule (``relay_order.GapTracker``): publish the run after the cursor that no
running transaction can still fill in; skip a missing position only once every transaction
that could hold it has ended and it is still missing."""

from __future__ import annotations

import pytest
from shared_kernel.relay_order import GapTracker, Snapshot

pytestmark = pytest.mark.unit


def test_a_consecutive_run_is_published_whole() -> None:
    gaps = GapTracker()
    assert gaps.publishable(10, [11, 12, 13], Snapshot(xmin=100, xmax=120)) == 3
    assert gaps.waiting_on is None


def test_nothing_read_publishes_nothing() -> None:
    assert GapTracker().publishable(10, [], Snapshot(xmin=100, xmax=120)) == 0


def test_a_gap_a_running_transaction_may_fill_stops_the_run_before_it() -> None:
    gaps = GapTracker()
    # 13 missing while 14 committed: its writer may still be running (xmin 100 < horizon 120).
    assert gaps.publishable(10, [11, 12, 14, 15], Snapshot(xmin=100, xmax=120)) == 2
    assert gaps.waiting_on == 13
    # Later reads, still with a transaction older than the horizon running: still waiting.
    assert gaps.publishable(12, [14, 15], Snapshot(xmin=119, xmax=130)) == 0
    assert gaps.waiting_on == 13


def test_the_late_commit_is_published_in_its_place() -> None:
    gaps = GapTracker()
    assert gaps.publishable(12, [14], Snapshot(xmin=100, xmax=120)) == 0
    assert gaps.publishable(12, [13, 14], Snapshot(xmin=100, xmax=125)) == 2
    assert gaps.waiting_on is None


def test_a_gap_still_missing_once_every_older_transaction_ended_is_skipped() -> None:
    gaps = GapTracker()
    assert gaps.publishable(12, [14, 15], Snapshot(xmin=100, xmax=120)) == 0
    # xmin reached the horizon of the read that first saw 13 missing, and 13 is still missing.
    assert gaps.publishable(12, [14, 15], Snapshot(xmin=120, xmax=140)) == 2
    assert gaps.waiting_on is None


def test_the_horizon_is_that_of_the_first_sighting_not_of_later_reads() -> None:
    gaps = GapTracker()
    assert gaps.publishable(12, [14], Snapshot(xmin=100, xmax=120)) == 0
    # A later read has a larger xmax; the horizon stays 120, so xmin 121 settles it.
    assert gaps.publishable(12, [14], Snapshot(xmin=110, xmax=200)) == 0
    assert gaps.publishable(12, [14], Snapshot(xmin=121, xmax=210)) == 1


def test_a_gap_seen_with_no_transaction_running_is_final_at_once() -> None:
    # xmin == xmax: nothing runs that could still commit the missing positions.
    assert GapTracker().publishable(10, [13, 14], Snapshot(xmin=50, xmax=50)) == 2


def test_each_gap_waits_for_its_own_horizon() -> None:
    gaps = GapTracker()
    assert gaps.publishable(10, [12, 14], Snapshot(xmin=100, xmax=120)) == 0  # 11 pending
    # 11 settles; 13 is first seen missing now, with the horizon of this read (130).
    assert gaps.publishable(10, [12, 14], Snapshot(xmin=120, xmax=130)) == 1
    assert gaps.waiting_on == 13
    assert gaps.publishable(12, [14], Snapshot(xmin=129, xmax=140)) == 0
    assert gaps.publishable(12, [14], Snapshot(xmin=130, xmax=140)) == 1
    assert gaps.waiting_on is None


def test_positions_passed_by_the_cursor_are_forgotten() -> None:
    gaps = GapTracker()
    assert gaps.publishable(10, [12], Snapshot(xmin=100, xmax=120)) == 0
    assert gaps.publishable(10, [11, 12], Snapshot(xmin=100, xmax=120)) == 2
    # 11 committed after all; a later gap at 13 gets its own horizon, not a stale one.
    assert gaps.publishable(12, [14], Snapshot(xmin=125, xmax=130)) == 0
    assert gaps.waiting_on == 13

"""The exposure rule and the Exposure aggregate: gross debit amount per currency, keys per
counterparty/desk, each crossing of an attached limit recorded once, and a limit change that
itself crosses a threshold."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from risk.domain.exposure import (
    Exposure,
    ExposureKey,
    ExposureMove,
    counterparty_and_desk,
    exposure_amounts,
    keys_for,
)
from risk.domain.exposure_events import (
    ExposureChanged,
    LimitAttached,
    LimitBackWithinThreshold,
    LimitBreached,
    LimitWarningReached,
    ThresholdCrossed,
)
from shared_kernel.domain import DomainEvent

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
KEY = ExposureKey("counterparty", "ACME", None, "EUR")


def test_exposure_amount_is_the_sum_of_debit_lines_per_currency() -> None:
    lines = [
        ("debit", 700, "EUR"),
        ("debit", 300, "EUR"),
        ("credit", 1000, "EUR"),
        ("debit", 50, "USD"),
        ("credit", 50, "USD"),
    ]
    assert exposure_amounts(lines) == {"EUR": 1000, "USD": 50}


def test_keys_per_counterparty_desk_and_both() -> None:
    assert [k.dimension for k in keys_for("ACME", "FX", "EUR")] == [
        "counterparty",
        "desk",
        "counterparty_desk",
    ]
    assert keys_for("ACME", None, "EUR") == (KEY,)
    assert keys_for(None, None, "EUR") == ()
    assert counterparty_and_desk({"counterparty": " ACME ", "desk": ""}) == ("ACME", None)
    assert ExposureKey("desk", None, "FX", "EUR").id != ExposureKey("desk", None, "FX", "USD").id


def saved(exposure: Exposure) -> list[DomainEvent]:
    events = exposure.pending_events()
    exposure.mark_saved()
    return events


def crossing_types(events: list[DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events if isinstance(e, ThresholdCrossed)]


def with_limit(amount: int = 1000) -> Exposure:
    exposure = Exposure.of(KEY)
    exposure.attach("l1", 1, amount, 8000, T0, None, at=T0)
    saved(exposure)
    return exposure


def test_crossings_are_recorded_once_each_naming_cause_utilisation_and_version() -> None:
    exposure = with_limit()
    exposure.change(posted=500, cause="ledger_entry", cause_id="e1", at=T0)
    assert crossing_types(saved(exposure)) == []
    exposure.change(pending=350, cause="booking_request", cause_id="r1", at=T0)
    events = saved(exposure)
    assert crossing_types(events) == ["LimitWarningReached"]
    warning = events[-1]
    assert isinstance(warning, LimitWarningReached)
    assert (warning.cause, warning.cause_id, warning.utilisation_bp) == (
        "booking_request",
        "r1",
        8500,
    )
    assert warning.limit_version == 1 and warning.exposure == 850
    exposure.change(posted=100, cause="ledger_entry", cause_id="e2", at=T0)
    assert crossing_types(saved(exposure)) == []  # still in warning: nothing
    exposure.change(posted=100, cause="ledger_entry", cause_id="e3", at=T0)
    [breach] = [e for e in saved(exposure) if isinstance(e, LimitBreached)]
    assert breach.cause_id == "e3" and breach.state == "breached"
    exposure.change(posted=-600, cause="entry_reversal", cause_id="e4", at=T0)
    events = saved(exposure)
    assert crossing_types(events) == ["LimitBackWithinThreshold", "LimitBackWithinThreshold"]
    assert [e.threshold for e in events if isinstance(e, LimitBackWithinThreshold)] == [
        "limit",
        "warning",
    ]


def test_replaying_the_stream_restores_states_so_nothing_is_decided_twice() -> None:
    exposure = with_limit()
    exposure.change(posted=900, cause="ledger_entry", cause_id="e1", at=T0)
    history = [
        LimitAttached(
            KEY.id, "counterparty", "ACME", None, "EUR", "l1", 1, 1000, 8000, T0, None, T0
        ),
        *saved(exposure),
    ]
    reloaded = Exposure.load(KEY.id, history)
    assert reloaded.total == 900 and reloaded.limits["l1"].state.value == "warning"
    reloaded.change(posted=50, cause="ledger_entry", cause_id="e2", at=T0)
    assert crossing_types(reloaded.pending_events()) == []


def test_a_limit_change_that_moves_utilisation_across_a_threshold_is_a_crossing() -> None:
    exposure = with_limit(1000)
    exposure.change(posted=700, cause="ledger_entry", cause_id="e1", at=T0)
    saved(exposure)
    exposure.attach("l1", 2, 600, 8000, T0, None, at=T0)  # cut below the exposure
    events = saved(exposure)
    assert crossing_types(events) == ["LimitWarningReached", "LimitBreached"]
    breach = events[-1]
    assert isinstance(breach, LimitBreached)
    assert (breach.cause, breach.cause_id, breach.limit_version) == ("limit_change", "l1/v2", 2)
    exposure.attach("l1", 3, 2000, 8000, T0, None, at=T0)  # raised again
    assert crossing_types(saved(exposure)) == [
        "LimitBackWithinThreshold",
        "LimitBackWithinThreshold",
    ]


def test_a_limit_outside_its_validity_is_not_measured() -> None:
    exposure = Exposure.of(KEY)
    exposure.attach("l1", 1, 1000, 8000, T0 + timedelta(days=1), None, at=T0)
    exposure.change(posted=5000, cause="ledger_entry", cause_id="e1", at=T0)
    assert crossing_types(saved(exposure)) == []


def test_no_change_no_event() -> None:
    exposure = with_limit()
    exposure.change(cause="ledger_entry", cause_id="e1", at=T0)
    assert saved(exposure) == []
    assert all(not isinstance(e, ExposureChanged) for e in exposure.pending_events())


def crossing_facts(events: list[DomainEvent]) -> list[tuple[object, ...]]:
    return [
        (type(e).__name__, e.cause, e.cause_id, e.exposure, e.utilisation_bp, e.state)
        for e in events
        if isinstance(e, ThresholdCrossed)
    ]


@pytest.mark.parametrize("seed", range(30))
def test_a_batch_of_moves_decides_the_crossings_one_change_per_move_would(seed: int) -> None:
    """``change_many`` (the inbox's batch) against ``change`` per move: the same crossings
    with the same causes and figures, the same totals, fewer ExposureChanged events, and a
    reload from its events gives the same state."""
    rng = random.Random(seed)
    moves = [
        ExposureMove(
            rng.choice([0, rng.randint(-400, 600)]),
            rng.choice([0, 0, rng.randint(-200, 300)]),
            rng.choice(["ledger_entry", "booking_request", "entry_reversal"]),
            f"i{n}",
            T0 + timedelta(minutes=n),
        )
        for n in range(rng.randint(1, 40))
    ]
    one_by_one, batched = with_limit(), with_limit()
    # A second limit, not valid during part of the moves: measured only while valid.
    for exposure in (one_by_one, batched):
        exposure.attach("l2", 1, 2500, 5000, T0 + timedelta(minutes=10), None, at=T0)
        saved(exposure)
    for move in moves:
        one_by_one.change(
            posted=move.posted,
            pending=move.pending,
            cause=move.cause,
            cause_id=move.cause_id,
            at=move.at,
        )
    batched.change_many(moves)
    single, merged = saved(one_by_one), saved(batched)

    assert crossing_facts(merged) == crossing_facts(single)
    assert (batched.posted, batched.pending) == (one_by_one.posted, one_by_one.pending)
    assert batched.limits == one_by_one.limits
    changes = [e for e in merged if isinstance(e, ExposureChanged)]
    assert len(changes) <= len([e for e in single if isinstance(e, ExposureChanged)])
    summed = [i for e in changes for i in (e.cause_ids or (e.cause_id,))]
    assert summed == [m.cause_id for m in moves if m.posted or m.pending]
    reloaded = Exposure.load(batched.id, [*with_limit_events(), *merged])
    assert (reloaded.posted, reloaded.pending) == (batched.posted, batched.pending)
    assert reloaded.limits == batched.limits


def with_limit_events() -> list[DomainEvent]:
    exposure = Exposure.of(KEY)
    exposure.attach("l1", 1, 1000, 8000, T0, None, at=T0)
    exposure.attach("l2", 1, 2500, 5000, T0 + timedelta(minutes=10), None, at=T0)
    return exposure.pending_events()

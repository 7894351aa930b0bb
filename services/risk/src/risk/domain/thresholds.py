"""Where a limit's utilisation stands, and which thresholds a change crossed.

A limit has two thresholds: the warning threshold (a share of the amount, 80 % by default) and
the limit itself. Utilisation at or above the warning threshold is ``warning``; an exposure
above the amount is ``breached`` (using the limit fully is not a breach). Every move between
states crosses one or two thresholds, and each crossed threshold is one event: jumping from
below straight into breach crosses the warning threshold and the limit (two events), falling
back from breach to below crosses both downwards. Staying on one side of a threshold crosses
nothing, however often the exposure changes, so flapping around a threshold gives exactly one
event per actual crossing. There is deliberately no hysteresis: a crossing is a fact.

Shares are integers in basis points (1 % = 100 bp), never floats.
"""

from __future__ import annotations

from enum import StrEnum

FULL_BP = 10_000
DEFAULT_WARNING_BP = 8_000


class ThresholdState(StrEnum):
    BELOW = "below"
    WARNING = "warning"
    BREACHED = "breached"


class Crossing(StrEnum):
    """One threshold crossed in one direction."""

    WARNING_REACHED = "warning_reached"
    BREACHED = "breached"
    BACK_BELOW_LIMIT = "back_below_limit"
    BACK_BELOW_WARNING = "back_below_warning"


_RANK = {ThresholdState.BELOW: 0, ThresholdState.WARNING: 1, ThresholdState.BREACHED: 2}
_UP = {1: Crossing.WARNING_REACHED, 2: Crossing.BREACHED}
_DOWN = {2: Crossing.BACK_BELOW_LIMIT, 1: Crossing.BACK_BELOW_WARNING}


def utilisation_bp(exposure: int, amount: int) -> int:
    """Exposure as a share of the limit amount in basis points, rounded down."""
    if amount <= 0:
        raise ValueError("a limit amount is positive")
    return (max(exposure, 0) * FULL_BP) // amount


def state_of(exposure: int, amount: int, warning_bp: int) -> ThresholdState:
    """The state of an exposure against a limit amount and its warning threshold."""
    if exposure > amount:
        return ThresholdState.BREACHED
    # exposure / amount >= warning_bp / FULL_BP, in integers (exact, no rounding).
    if exposure * FULL_BP >= amount * warning_bp:
        return ThresholdState.WARNING
    return ThresholdState.BELOW


def crossings(before: ThresholdState, after: ThresholdState) -> list[Crossing]:
    """The thresholds crossed moving from ``before`` to ``after``, in the order crossed."""
    low, high = _RANK[before], _RANK[after]
    if high > low:
        return [_UP[rank] for rank in range(low + 1, high + 1)]
    return [_DOWN[rank] for rank in range(low, high, -1)]


def pre_deal_refusal(limit: str, amount: int, exposure: int, deal: int) -> str:
    """Why a deal of ``deal`` does not fit ``limit`` (its ``amount``, of which ``exposure`` is
    used; all in minor units): the real headroom, or how far the limit is already exceeded."""
    headroom = amount - exposure
    if headroom < 0:
        return (
            f"{limit} is already {-headroom} over its amount of {amount} (exposure {exposure}), "
            f"so a deal of {deal} does not fit"
        )
    return f"{limit} has {headroom} headroom, less than {deal}"

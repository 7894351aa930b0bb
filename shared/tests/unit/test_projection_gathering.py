"""A projection may let the broker gather records before answering a fetch (``gather_ms``):
fewer, larger transactions for a projection written once per request. The default answers at
once, as aiokafka's defaults do."""

from __future__ import annotations

import pytest
from shared_kernel.projection_runner import GATHER_MIN_BYTES, gathering
from shared_kernel.projections import Projection

pytestmark = pytest.mark.unit


def test_a_projection_answers_at_once_unless_it_says_otherwise() -> None:
    assert Projection.gather_ms == 0
    assert gathering(0) == {}


def test_gathering_holds_the_fetch_for_at_most_gather_ms() -> None:
    assert gathering(200) == {"fetch_max_wait_ms": 200, "fetch_min_bytes": GATHER_MIN_BYTES}

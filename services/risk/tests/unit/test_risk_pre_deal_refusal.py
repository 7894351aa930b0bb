"""A pre-deal refusal says the real figure: the headroom left, or how far the limit is over."""

from __future__ import annotations

import pytest
from risk.domain.thresholds import pre_deal_refusal

pytestmark = pytest.mark.unit


def test_a_limit_over_its_amount_says_by_how_much_not_zero_headroom() -> None:
    text = pre_deal_refusal("limit L (counterparty ACME, EUR)", 1_000_000, 1_150_000, 500)
    assert text == (
        "limit L (counterparty ACME, EUR) is already 150000 over its amount of 1000000 "
        "(exposure 1150000), so a deal of 500 does not fit"
    )
    assert "0 headroom" not in text


def test_a_limit_with_too_little_headroom_says_how_much_is_left() -> None:
    assert pre_deal_refusal("limit L", 1_000, 700, 500) == "limit L has 300 headroom, less than 500"
    assert pre_deal_refusal("limit L", 1_000, 1_000, 1) == "limit L has 0 headroom, less than 1"

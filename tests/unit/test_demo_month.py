"""The demo month: balanced entries, dated from the 1st up to today, one voucher each."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))

from demo_month import gross_of, month_entries, open_requests

pytestmark = pytest.mark.unit

ENTRIES = month_entries() + open_requests()


def test_every_entry_balances_and_has_a_voucher_of_its_own() -> None:
    for entry in ENTRIES:
        debits = sum(amount for _, side, amount in entry.lines if side == "debit")
        credits = sum(amount for _, side, amount in entry.lines if side == "credit")
        assert debits == credits > 0, entry.voucher_number
    assert len({entry.voucher_number for entry in ENTRIES}) == len(ENTRIES) >= 40


@pytest.mark.parametrize("today", [date(2026, 3, 1), date(2026, 2, 14), date(2026, 1, 31)])
def test_dates_run_from_the_first_to_today_in_order(today: date) -> None:
    dates = [entry.booking_date(today) for entry in month_entries()]
    assert dates == sorted(dates)
    assert dates[0] == today.replace(day=1) and dates[-1] == today


def test_acme_ends_near_its_warning_threshold() -> None:
    acme = sum(gross_of(e) for e in ENTRIES if e.metadata.get("counterparty") == "ACME GmbH")
    assert 0.7 <= acme / 5_000_000 < 0.8  # the demo limit is 50,000.00 EUR, warning at 80 %

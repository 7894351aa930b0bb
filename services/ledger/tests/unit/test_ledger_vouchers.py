"""Voucher numbers: who may claim a number, and when a booking request's reservation ends."""

from __future__ import annotations

from datetime import date

import pytest
from ledger.domain import EntryDetails, Voucher, VoucherNumberInUse, voucher_key

pytestmark = pytest.mark.unit


def test_the_fiscal_year_is_the_booking_dates_year_not_the_voucher_dates() -> None:
    details = EntryDetails("RE-1", date(2027, 1, 3), "Invoice", voucher_date=date(2026, 12, 30))
    assert voucher_key(details.checked()) == (2027, "RE-1")
    assert Voucher.of(2027, "A:B").voucher_number == "A:B"


def test_a_number_held_by_an_entry_is_refused_naming_the_entry() -> None:
    voucher = Voucher.of(2026, "RE-1")
    voucher.claim(entry_id="e1")
    with pytest.raises(VoucherNumberInUse, match="fiscal year 2026 by journal entry e1"):
        voucher.claim(entry_id="e2")
    with pytest.raises(VoucherNumberInUse):
        voucher.claim(request_id="r1")


def test_a_request_reserves_its_number_and_hands_it_to_its_entry() -> None:
    voucher = Voucher.of(2026, "RE-1")
    voucher.claim(request_id="r1")
    with pytest.raises(VoucherNumberInUse, match="booking request r1"):
        voucher.claim(entry_id="e2")
    with pytest.raises(VoucherNumberInUse):
        voucher.claim(entry_id="e2", request_id="r2")
    voucher.claim(entry_id="e1", request_id="r1")
    assert (voucher.entry_id, voucher.request_id) == ("e1", "r1")
    voucher.release("r1", "expired")  # an approved request's number stays with its entry
    assert (voucher.entry_id, len(voucher.pending_events())) == ("e1", 2)


@pytest.mark.parametrize("outcome", ["rejected", "expired"])
def test_a_request_that_ends_without_an_entry_releases_its_number(outcome: str) -> None:
    voucher = Voucher.of(2026, "RE-1")
    voucher.claim(request_id="r1")
    voucher.release("r2", outcome)  # not the holder: nothing changes
    assert voucher.request_id == "r1"
    voucher.release("r1", outcome)
    assert voucher.is_free
    voucher.claim(entry_id="e9")
    assert voucher.entry_id == "e9"

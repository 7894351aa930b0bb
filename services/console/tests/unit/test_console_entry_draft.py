"""The lines editor's rules, without HTTP: rows read into lines, problems named by row, and the
imbalance per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from console.domain.entry_draft import Line, Row, imbalance, read_rows, rows_of
from console.domain.journal_search import entry_matches
from console.domain.money import AmountNotUnderstood, minor_units, to_decimal

pytestmark = pytest.mark.unit


def parse(text: str, currency: str) -> int:
    """Amounts written with a decimal point (the locale's parsing is tested with the forms)."""
    if not text.strip():
        raise AmountNotUnderstood("an amount is required")
    return minor_units(to_decimal(text), currency)


def test_rows_come_from_the_forms_repeated_fields_in_order() -> None:
    rows = rows_of(
        {
            "account_id": ["a", "b"],
            "side": ["debit", "credit"],
            "amount": ["1", "1"],
            "currency": ["EUR"],
        }
    )
    assert rows == [Row("a", "debit", "1", "EUR"), Row("b", "credit", "1", "")]


def test_blank_rows_are_skipped_and_filled_ones_read_in_minor_units() -> None:
    rows = [
        Row("a", "debit", "12.50", "EUR"),
        Row("", "debit", "", "EUR"),
        Row("b", "credit", "1250", "JPY"),
    ]
    lines, problems = read_rows(rows, parse)
    assert problems == []
    assert lines == [Line("a", "debit", 1250, "EUR"), Line("b", "credit", 1250, "JPY")]


def test_every_unreadable_row_is_named_by_its_number() -> None:
    rows = [
        Row("", "debit", "5", "EUR"),
        Row("b", "sideways", "5", "EUR"),
        Row("c", "credit", "5.001", "EUR"),
        Row("d", "credit", "-5", "EUR"),
        Row("e", "credit", "5", "euro"),
        Row("f", "credit", "", "EUR"),
    ]
    _, problems = read_rows(rows, parse)
    assert [(p.row, p.problem) for p in problems] == [
        (1, "account"),
        (2, "side"),
        (3, "amount"),
        (4, "amount"),
        (5, "currency"),
        (6, "amount"),
    ]


def test_imbalance_is_per_currency_and_empty_when_balanced() -> None:
    balanced = [Line("a", "debit", 100, "EUR"), Line("b", "credit", 100, "EUR")]
    assert imbalance(balanced) == {}
    mixed = [*balanced, Line("c", "debit", 5, "USD"), Line("d", "credit", 3, "USD")]
    assert imbalance(mixed) == {"USD": 2}
    # Equal totals across currencies do not balance an entry.
    assert imbalance([Line("a", "debit", 100, "EUR"), Line("b", "credit", 100, "USD")]) == {
        "EUR": 100,
        "USD": -100,
    }


def test_amounts_below_the_smallest_unit_are_refused() -> None:
    with pytest.raises(AmountNotUnderstood):
        minor_units(Decimal("0.001"), "EUR")


def test_the_journal_is_narrowed_by_account_and_by_text_ignoring_case() -> None:
    entry = {
        "voucher_number": "V-1",
        "text": "Rent December",
        "source_document": None,
        "metadata": {"counterparty": "ACME GmbH"},
        "lines": [{"account_id": "a", "account_code": "4210"}],
    }
    assert entry_matches(entry, None, "")
    assert entry_matches(entry, "a", " acme ")
    assert entry_matches(entry, None, "4210") and entry_matches(entry, None, "rent")
    assert not entry_matches(entry, "b", "")
    assert not entry_matches(entry, "a", "salary")

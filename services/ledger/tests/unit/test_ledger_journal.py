import uuid
from datetime import date, datetime

import pytest
from ledger.domain import Account, JournalEntry, JournalEntryPosted, LineInput, PostedLine
from shared_kernel.errors import DomainError

BOOKING_DATE = date(2025, 3, 31)


def open_account(code: str, account_type: str, currency: str) -> Account:
    return Account.open(str(uuid.uuid4()), code, f"Account {code}", account_type, currency)


BANK_EUR = open_account("1200", "asset", "EUR")
REVENUE_EUR = open_account("8400", "revenue", "EUR")
BANK_USD = open_account("1210", "asset", "USD")
REVENUE_USD = open_account("8410", "revenue", "USD")
BANK_JPY = open_account("1220", "asset", "JPY")
FEES_JPY = open_account("4970", "expense", "JPY")
CHART = {a.id: a for a in (BANK_EUR, REVENUE_EUR, BANK_USD, REVENUE_USD, BANK_JPY, FEES_JPY)}


def debit(account: Account, amount: int, currency: str = "EUR") -> LineInput:
    return LineInput(account.id, "debit", amount, currency)


def credit(account: Account, amount: int, currency: str = "EUR") -> LineInput:
    return LineInput(account.id, "credit", amount, currency)


def post(lines: list[LineInput], **overrides: object) -> JournalEntry:
    command: dict[str, object] = {
        "entry_id": str(uuid.uuid4()),
        "voucher_number": "INV-2025-0042",
        "booking_date": BOOKING_DATE,
        "text": "Invoice 42, consulting",
        "lines": lines,
        "accounts": CHART,
    }
    command.update(overrides)
    return JournalEntry.post(**command)  # type: ignore[arg-type]


def refusal(lines: list[LineInput], **overrides: object) -> DomainError:
    with pytest.raises(DomainError) as refused:
        post(lines, **overrides)
    assert refused.value.status == 422
    return refused.value


def test_a_balanced_two_line_entry_is_posted() -> None:
    entry_id = str(uuid.uuid4())

    entry = post([debit(BANK_EUR, 11900), credit(REVENUE_EUR, 11900)], entry_id=entry_id)

    assert entry.pending_events() == [
        JournalEntryPosted(
            entry_id=entry_id,
            voucher_number="INV-2025-0042",
            booking_date=BOOKING_DATE,
            text="Invoice 42, consulting",
            lines=(
                PostedLine(BANK_EUR.id, "1200", "debit", 11900, "EUR"),
                PostedLine(REVENUE_EUR.id, "8400", "credit", 11900, "EUR"),
            ),
            voucher_date=BOOKING_DATE,
            period="2025-03",
        )
    ]
    assert JournalEntryPosted.event_type == "ledger.JournalEntryPosted"
    assert JournalEntry.stream_type == "journal_entry"


def test_a_multi_line_multi_currency_entry_balanced_per_currency_is_posted() -> None:
    lines = [
        debit(BANK_EUR, 10000),
        credit(REVENUE_EUR, 7000),
        credit(REVENUE_EUR, 3000),
        debit(BANK_USD, 2500, "USD"),
        credit(REVENUE_USD, 2500, "USD"),
        debit(FEES_JPY, 150, "JPY"),
        credit(BANK_JPY, 150, "JPY"),
    ]

    entry = post(lines)

    assert entry.is_posted
    assert [(line.account_code, line.side, line.amount) for line in entry.lines] == [
        ("1200", "debit", 10000),
        ("8400", "credit", 7000),
        ("8400", "credit", 3000),
        ("1210", "debit", 2500),
        ("8410", "credit", 2500),
        ("4970", "debit", 150),
        ("1220", "credit", 150),
    ]


def test_an_entry_rebuilt_from_its_events_equals_the_original() -> None:
    original = post([debit(BANK_USD, 99, "USD"), credit(REVENUE_USD, 99, "USD")])

    rebuilt = JournalEntry.load(original.id, original.pending_events())

    assert (rebuilt.voucher_number, rebuilt.booking_date, rebuilt.text, rebuilt.lines) == (
        original.voucher_number,
        original.booking_date,
        original.text,
        original.lines,
    )
    assert rebuilt.is_posted
    assert rebuilt.version == 1


@pytest.mark.parametrize("lines", [[], [debit(BANK_EUR, 100)]])
def test_fewer_than_two_lines_are_refused(lines: list[LineInput]) -> None:
    error = refusal(lines)
    assert (error.field, error.code) == ("lines", "TooFewLines")


def test_lines_on_a_single_account_are_refused() -> None:
    error = refusal([debit(BANK_EUR, 100), credit(BANK_EUR, 100)])
    assert (error.field, error.code) == ("lines", "SingleAccount")


@pytest.mark.parametrize("amount", [0, -100, True, 1.5, "100"])
def test_an_amount_that_is_not_a_positive_integer_is_refused(amount: object) -> None:
    lines = [debit(BANK_EUR, 100), credit(REVENUE_EUR, 50), credit(REVENUE_EUR, amount)]  # type: ignore[arg-type]
    error = refusal(lines)
    assert (error.field, error.code) == ("lines[2].amount", "InvalidAmount")


def test_an_amount_above_the_sanity_cap_is_refused() -> None:
    error = refusal([debit(BANK_EUR, 10**15 + 1), credit(REVENUE_EUR, 10**15 + 1)])
    assert (error.field, error.code) == ("lines[0].amount", "AmountTooLarge")


def test_an_amount_at_the_sanity_cap_is_accepted() -> None:
    assert post([debit(BANK_EUR, 10**15), credit(REVENUE_EUR, 10**15)]).is_posted


def test_a_side_other_than_debit_or_credit_is_refused() -> None:
    error = refusal([debit(BANK_EUR, 100), LineInput(REVENUE_EUR.id, "haben", 100, "EUR")])
    assert (error.field, error.code) == ("lines[1].side", "InvalidSide")


def test_a_line_on_an_unknown_account_is_refused() -> None:
    error = refusal([LineInput(str(uuid.uuid4()), "debit", 100, "EUR"), credit(REVENUE_EUR, 100)])
    assert (error.field, error.code) == ("lines[0].account_id", "UnknownAccount")


def test_a_line_on_a_never_opened_account_is_refused() -> None:
    ghost = Account.load(str(uuid.uuid4()), [])
    error = refusal([debit(BANK_EUR, 100), credit(ghost, 100)], accounts={**CHART, ghost.id: ghost})
    assert (error.field, error.code) == ("lines[1].account_id", "UnknownAccount")


def test_a_line_in_an_unknown_currency_is_refused() -> None:
    error = refusal([debit(BANK_EUR, 100), credit(REVENUE_EUR, 100, "XEU")])
    assert (error.field, error.code) == ("lines[1].currency", "UnknownCurrency")


def test_a_line_in_another_currency_than_its_account_is_refused() -> None:
    error = refusal([debit(BANK_EUR, 100, "USD"), credit(REVENUE_USD, 100, "USD")])
    assert (error.field, error.code) == ("lines[0].currency", "CurrencyMismatch")
    assert "EUR" in error.detail and "USD" in error.detail


def test_an_unbalanced_entry_is_refused_naming_the_currency_and_both_sums() -> None:
    error = refusal([debit(BANK_EUR, 11900), credit(REVENUE_EUR, 10000)])
    assert (error.field, error.code) == ("lines", "Unbalanced")
    assert "EUR" in error.detail
    assert "119.00" in error.detail and "100.00" in error.detail


def test_balance_is_required_per_currency_not_across_currencies() -> None:
    # The raw totals agree (100 debit, 100 credit), but in different currencies.
    error = refusal([debit(BANK_EUR, 100), credit(REVENUE_USD, 100, "USD")])
    assert error.code == "Unbalanced"


def test_the_unbalanced_currency_is_named_when_others_balance() -> None:
    lines = [
        debit(BANK_EUR, 100),
        credit(REVENUE_EUR, 100),
        debit(BANK_JPY, 500, "JPY"),
        credit(FEES_JPY, 499, "JPY"),
    ]
    error = refusal(lines)
    assert error.code == "Unbalanced"
    assert "JPY" in error.detail and "EUR" not in error.detail
    assert "500" in error.detail and "499" in error.detail


@pytest.mark.parametrize("voucher_number", ["", "   "])
def test_a_voucher_number_is_required(voucher_number: str) -> None:
    error = refusal([debit(BANK_EUR, 1), credit(REVENUE_EUR, 1)], voucher_number=voucher_number)
    assert (error.field, error.code) == ("voucher_number", "VoucherNumberRequired")


@pytest.mark.parametrize("text", ["", "  "])
def test_a_booking_text_is_required(text: str) -> None:
    error = refusal([debit(BANK_EUR, 1), credit(REVENUE_EUR, 1)], text=text)
    assert (error.field, error.code) == ("text", "TextRequired")


@pytest.mark.parametrize("booking_date", [None, "2025-03-31", datetime(2025, 3, 31, 12, 0)])
def test_a_booking_date_is_required(booking_date: object) -> None:
    error = refusal([debit(BANK_EUR, 1), credit(REVENUE_EUR, 1)], booking_date=booking_date)
    assert (error.field, error.code) == ("booking_date", "BookingDateRequired")

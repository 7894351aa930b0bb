import pytest
from ledger.domain import Currency
from shared_kernel.errors import DomainError


@pytest.mark.parametrize(
    ("code", "minor_units"),
    [("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3)],
)
def test_known_currencies_have_their_iso_precision(code: str, minor_units: int) -> None:
    assert Currency.of(code) == Currency(code, minor_units)


@pytest.mark.parametrize("code", ["XXX", "eur", "", "EURO"])
def test_unknown_currency_is_refused_naming_the_field(code: str) -> None:
    with pytest.raises(DomainError) as refused:
        Currency.of(code, field="lines[1].currency")
    assert refused.value.field == "lines[1].currency"
    assert refused.value.code == "UnknownCurrency"
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("code", "amount", "shown"),
    [
        ("EUR", 123456, "1234.56"),
        ("EUR", 5, "0.05"),
        ("JPY", 1500, "1500"),
        ("KWD", -1001, "-1.001"),
    ],
)
def test_amounts_are_shown_with_the_currency_precision(code: str, amount: int, shown: str) -> None:
    assert Currency.of(code).format(amount) == shown

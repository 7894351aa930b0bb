"""Amounts: the API speaks minor units (cents); people read and type major units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that are not 2 (the API's amounts are in these units).
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}


class AmountNotUnderstood(ValueError):
    """A typed amount that is not a number of the currency's smallest unit."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def major(minor: int, currency: str) -> Decimal:
    """1234 EUR cents -> Decimal('12.34')."""
    return Decimal(minor).scaleb(-exponent(currency))


def minor_units(amount: Decimal, currency: str) -> int:
    """Decimal('12.34') EUR -> 1234; refuses fractions below the currency's smallest unit."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AmountNotUnderstood(
            f"{amount} {currency} has more than {exponent(currency)} decimal places"
        )
    return int(scaled)


def to_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as failure:
        raise AmountNotUnderstood(f"{text!r} is not an amount") from failure
    if not value.is_finite():
        raise AmountNotUnderstood(f"{text!r} is not an amount")
    return value

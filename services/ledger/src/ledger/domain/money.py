"""Money in the ledger: ISO 4217 currencies and amounts in integer minor units.

Amounts are never floats. An amount is an ``int`` counted in the currency's minor unit
(cents for EUR, yen for JPY, fils for KWD); ``Currency.minor_units`` says how many decimal
places that unit has, which matters only when an amount is shown to a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.errors import DomainError

MAX_AMOUNT = 10**15
"""Largest amount of a single line, in minor units: a sanity cap against typos and overflow."""


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency with the number of decimal places of its minor unit."""

    code: str
    minor_units: int

    @classmethod
    def of(cls, code: str, *, field: str = "currency") -> Currency:
        """Look up a currency by its ISO 4217 code; an unknown code is refused.

        ``field`` names the input the code came from, so the refusal points at it.
        """
        currency = _CURRENCIES.get(code) if isinstance(code, str) else None
        if currency is None:
            known = ", ".join(sorted(_CURRENCIES))
            raise DomainError(
                f"Unknown currency {code!r}; use an upper-case ISO 4217 code ({known}).",
                field=field,
                code="UnknownCurrency",
            )
        return currency

    def format(self, amount: int) -> str:
        """Show an amount of minor units in major units, e.g. 123456 EUR -> '1234.56'."""
        sign = "-" if amount < 0 else ""
        major, minor = divmod(abs(amount), 10**self.minor_units)
        if self.minor_units == 0:
            return f"{sign}{major}"
        return f"{sign}{major}.{minor:0{self.minor_units}d}"

    def __str__(self) -> str:
        return self.code


_CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("EUR", 2),
        Currency("USD", 2),
        Currency("GBP", 2),
        Currency("CHF", 2),
        Currency("JPY", 0),
        Currency("KWD", 3),
        Currency("BHD", 3),
    )
}

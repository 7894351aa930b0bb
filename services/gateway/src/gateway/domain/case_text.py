"""Money and free text as a summary shows them: amounts in minor units shown in major units with
the currency's decimals, free text on one line, bounded."""

from __future__ import annotations

import re

# Decimals of the minor unit where it is not 2 (ISO 4217).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3}
MAX_QUOTE = 120  # characters of free text (a reason, a note) quoted in a summary
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def money(amount: int, currency: str) -> str:
    """``500000, "EUR"`` -> ``EUR 5,000.00`` (minor units shown in major units)."""
    decimals = MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**decimals)
    fraction = f".{minor:0{decimals}d}" if decimals else ""
    return f"{currency} {sign}{major:,}{fraction}"


def compact(amount: int, currency: str) -> str:
    """``120000000, "EUR"`` -> ``EUR 1.2M``: for a limit's usage, where the scale matters."""
    major = abs(amount) / 10 ** MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    for step, suffix in ((10**9, "bn"), (10**6, "M"), (10**3, "k")):
        if major >= step:
            return f"{currency} {sign}{major / step:.1f}".removesuffix(".0") + suffix
    return money(amount, currency)


def percent(basis_points: int) -> str:
    """``12050`` -> ``120.5 %``."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d}".rstrip("0") + " %" if rest else f"{whole} %"


def said(text: str, limit: int = MAX_QUOTE) -> str:
    """Free text on one line (control characters and runs of blanks become one space)."""
    return clip(_BLANKS.sub(" ", text).strip(), limit)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

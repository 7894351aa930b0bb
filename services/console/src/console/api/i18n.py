"""Language and formats per locale: German or English texts, and dates, numbers, amounts and
currencies written the way the reader's locale writes them (Babel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal

from console.domain.money import AmountNotUnderstood, major, minor_units
from console.texts import GERMAN

# Shown where a value is missing (an en dash, as typesetting does).
NOTHING = "\u2013"
LOCALES = {"en": "en_GB", "de": "de_DE"}


@dataclass(frozen=True)
class Formats:
    """Texts and formats for one reader: ``_`` translates, the rest format values."""

    language: str
    timezone: ZoneInfo

    @property
    def babel_locale(self) -> str:
        return LOCALES[self.language]

    def _(self, text: str) -> str:
        if self.language == "de":
            return GERMAN.get(text, text)
        return text

    def money(self, minor: int | None, currency: str | None) -> str:
        """Minor units of the API -> "1.234,56 €" (de) or "€1,234.56" (en)."""
        if minor is None or not currency:
            return NOTHING
        return format_currency(major(int(minor), currency), currency, locale=self.babel_locale)

    def number(self, value: int | float | Decimal | None, digits: int = 0) -> str:
        if value is None:
            return NOTHING
        return format_decimal(
            value, format=f"#,##0{'.' + '0' * digits if digits else ''}", locale=self.babel_locale
        )

    def percent(self, basis_points: int | None) -> str:
        """Basis points (1 % = 100) -> "87,5 %"."""
        if basis_points is None:
            return NOTHING
        return f"{self.number(Decimal(basis_points) / 100, 1)} %"

    def when(self, value: Any) -> str:
        """An API timestamp (ISO 8601) in the reader's time zone and locale."""
        moment = _datetime(value)
        if moment is None:
            return NOTHING if not value else str(value)
        return format_datetime(moment, "medium", tzinfo=self.timezone, locale=self.babel_locale)

    def day(self, value: Any) -> str:
        if isinstance(value, datetime):
            return format_date(
                value.astimezone(self.timezone).date(), "medium", locale=self.babel_locale
            )
        if isinstance(value, date):
            return format_date(value, "medium", locale=self.babel_locale)
        try:
            return format_date(
                date.fromisoformat(str(value)[:10]), "medium", locale=self.babel_locale
            )
        except ValueError:
            return NOTHING if not value else str(value)

    def parse_amount(self, text: str, currency: str) -> int:
        """What a person typed ("1.234,56" in German, "1,234.56" in English) -> minor units."""
        cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
        if not cleaned:
            raise AmountNotUnderstood("an amount is required")
        try:
            value = parse_decimal(cleaned, locale=self.babel_locale, strict=True)
        except NumberFormatError as failure:
            raise AmountNotUnderstood(f"{text!r} is not an amount") from failure
        return minor_units(value, currency)


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def language_of(cookie: str | None, accept_language: str | None, default: str) -> str:
    """The chosen language (cookie), else the browser's first known one, else the default."""
    if cookie in LOCALES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return default

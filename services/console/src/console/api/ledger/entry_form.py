"""The lines editor's form (posting form and booking-request form): read what was typed,
refuse an unreadable or unbalanced entry with readable messages, and give the template what it
needs to show the form again (typed values kept, the reader's decimal separator for the script).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from console.api.i18n import Formats
from console.domain.entry_draft import Row, RowProblem, imbalance, read_rows, rows_of
from console.domain.money import exponent

# Rows the editor offers without JavaScript (with it, "Add a line" makes more).
BLANK_ROWS = 6
HEADER_FIELDS = ("voucher_number", "booking_date", "voucher_date", "text", "source_document")
DEAL_FIELDS = ("counterparty", "desk")
COMMON_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")


@dataclass
class EntryForm:
    """What was typed, and (when it can be sent) the API's body."""

    values: dict[str, str]
    rows: list[Row]
    messages: list[str] = field(default_factory=list)
    body: dict[str, Any] | None = None

    @property
    def shown_rows(self) -> list[Row]:
        """The typed rows, topped up with blank ones."""
        blank = Row("", "debit", "", "")
        return [*self.rows, *[blank] * max(0, BLANK_ROWS - len(self.rows))]


def blank_form(booking_date: date) -> EntryForm:
    return EntryForm({"booking_date": booking_date.isoformat()}, [])


def read_entry_form(
    formats: Formats, fields: Mapping[str, Sequence[str]], *, deal: bool = False
) -> EntryForm:
    """The typed entry; ``body`` only when every field and line reads and it balances."""
    _ = formats._
    values = {name: _first(fields, name) for name in (*HEADER_FIELDS, *DEAL_FIELDS)}
    rows = [row for row in rows_of(fields) if not row.blank]
    form = EntryForm(values, rows)
    if not values["voucher_number"]:
        form.messages.append(_("A voucher number is required."))
    if not values["text"]:
        form.messages.append(_("A booking text is required."))
    for name in ("booking_date", "voucher_date"):
        if values[name] and not _is_day(values[name]):
            form.messages.append(_("Dates are written YYYY-MM-DD."))
    if not values["booking_date"]:
        form.messages.append(_("A booking date is required."))
    lines, problems = read_rows(rows, formats.parse_amount)
    form.messages.extend(problem_message(formats, problem) for problem in problems)
    if not problems and len(lines) < 2:
        form.messages.append(_("An entry needs at least two lines."))
    differences = imbalance(lines)
    if not problems and differences:
        differing = ", ".join(
            formats.money(abs(amount), currency) for currency, amount in differences.items()
        )
        form.messages.append(
            _("The entry is not balanced: debits and credits differ by {amount}.").format(
                amount=differing
            )
        )
    if form.messages:
        return form
    body: dict[str, Any] = {
        "voucher_number": values["voucher_number"],
        "booking_date": values["booking_date"],
        "text": values["text"],
        "lines": [line.as_json() for line in lines],
    }
    if values["voucher_date"]:
        body["voucher_date"] = values["voucher_date"]
    if values["source_document"]:
        body["source_document"] = values["source_document"]
    metadata = {name: values[name] for name in DEAL_FIELDS if deal and values[name]}
    if metadata:
        body["metadata"] = metadata
    form.body = body
    return form


def problem_message(formats: Formats, problem: RowProblem) -> str:
    _ = formats._
    if problem.problem == "account":
        return _("Line {row}: choose an account.").format(row=problem.row)
    if problem.problem == "side":
        return _("Line {row}: choose debit or credit.").format(row=problem.row)
    if problem.problem == "currency":
        return _("Line {row}: choose a currency.").format(row=problem.row)
    if not problem.text.strip():
        return _("Line {row}: an amount is required.").format(row=problem.row)
    example = format_decimal(Decimal("1234.56"), locale=formats.babel_locale)
    return _("Line {row}: “{text}” is not an amount (write it like {example}).").format(
        row=problem.row, text=problem.text, example=example
    )


def editor_context(
    formats: Formats, form: EntryForm, accounts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The template's view of the editor: rows, accounts, currencies, number symbols."""
    currencies = sorted({*COMMON_CURRENCIES, *(str(a["currency"]) for a in accounts)})
    return {
        "form": form,
        "accounts": accounts,
        "currencies": currencies,
        "decimal_symbol": get_decimal_symbol(formats.babel_locale),
        "group_symbol": get_group_symbol(formats.babel_locale),
        "exponents": json.dumps({currency: exponent(currency) for currency in currencies}),
        "js_locale": formats.babel_locale.replace("_", "-"),
    }


def _first(fields: Mapping[str, Sequence[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[0].strip()


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10

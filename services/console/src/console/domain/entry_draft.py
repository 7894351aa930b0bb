"""A journal entry as typed into the lines editor, before it goes to the API.

The posting form and the booking-request form send rows of (account, side, amount, currency)
as text. ``read_rows`` turns them into the API's lines (amounts in minor units) and names every
row that cannot be read; ``imbalance`` says per currency how far debits and credits differ.
The console refuses an unbalanced or unreadable entry itself (nothing is sent to the API); the
ledger checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from console.domain.money import AmountNotUnderstood

SIDES = ("debit", "credit")


@dataclass(frozen=True)
class Row:
    """One row of the lines editor, as typed (all text)."""

    account_id: str
    side: str
    amount: str
    currency: str

    @property
    def blank(self) -> bool:
        """An untouched row (the editor offers more rows than an entry needs)."""
        return not (self.account_id.strip() or self.amount.strip())


@dataclass(frozen=True)
class RowProblem:
    """Why row ``row`` (counted from 1, as the reader sees it) cannot be read."""

    row: int
    problem: str  # "account", "side", "amount", "currency"
    text: str = ""


@dataclass(frozen=True)
class Line:
    account_id: str
    side: str
    amount: int  # minor units
    currency: str

    def as_json(self) -> dict[str, str | int]:
        return {
            "account_id": self.account_id,
            "side": self.side,
            "amount": self.amount,
            "currency": self.currency,
        }


def rows_of(fields: Mapping[str, Sequence[str]]) -> list[Row]:
    """The editor's rows from a form's repeated fields (``account_id``, ``side``, ...)."""

    def column(name: str) -> list[str]:
        return [str(v) for v in fields.get(name, [])]

    accounts, sides, amounts, currencies = (
        column("account_id"),
        column("side"),
        column("amount"),
        column("currency"),
    )
    count = max(len(accounts), len(sides), len(amounts), len(currencies), 0)

    def at(values: list[str], index: int) -> str:
        return values[index] if index < len(values) else ""

    return [
        Row(at(accounts, i), at(sides, i), at(amounts, i), at(currencies, i)) for i in range(count)
    ]


def read_rows(
    rows: Sequence[Row], parse_amount: Callable[[str, str], int]
) -> tuple[list[Line], list[RowProblem]]:
    """The lines of the filled rows, and the problems of the rows that cannot be read."""
    lines: list[Line] = []
    problems: list[RowProblem] = []
    for number, row in enumerate(rows, start=1):
        if row.blank:
            continue
        account = row.account_id.strip()
        currency = row.currency.strip().upper()
        if not account:
            problems.append(RowProblem(number, "account"))
        if row.side not in SIDES:
            problems.append(RowProblem(number, "side"))
        if len(currency) != 3 or not currency.isalpha():
            problems.append(RowProblem(number, "currency", row.currency))
            continue
        try:
            amount = parse_amount(row.amount, currency)
        except AmountNotUnderstood:
            problems.append(RowProblem(number, "amount", row.amount))
            continue
        if amount <= 0:
            problems.append(RowProblem(number, "amount", row.amount))
            continue
        if account and row.side in SIDES:
            lines.append(Line(account, row.side, amount, currency))
    return lines, problems


def imbalance(lines: Sequence[Line]) -> dict[str, int]:
    """Per currency, debits less credits (minor units) where they differ; empty: balanced."""
    difference: dict[str, int] = {}
    for line in lines:
        signed = line.amount if line.side == "debit" else -line.amount
        difference[line.currency] = difference.get(line.currency, 0) + signed
    return {currency: value for currency, value in sorted(difference.items()) if value}

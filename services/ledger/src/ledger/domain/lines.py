"""Journal lines: the command input for a line and the double-entry rules for a set of lines.

The rules live apart from the ``JournalEntry`` aggregate so that anything that must hold
lines to the same standard (a booking request awaiting approval, a reversal) checks them
with the same function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared_kernel.errors import DomainError

from ledger.domain.accounts import Account, Side
from ledger.domain.events import PostedLine
from ledger.domain.money import MAX_AMOUNT, Currency


@dataclass(frozen=True)
class LineInput:
    """One line as a caller asks for it. ``side`` is ``"debit"`` or ``"credit"`` (or a
    ``Side``); ``amount`` is a positive integer in the currency's minor units."""

    account_id: str
    side: str
    amount: int
    currency: str


def check_lines(
    lines: Sequence[LineInput], accounts: Mapping[str, Account]
) -> tuple[PostedLine, ...]:
    """Check lines against the rules of double entry and return them as posted lines.

    ``accounts`` maps account id to account and must hold every account the lines touch.
    Refuses, with a ``DomainError`` naming the offending input: fewer than two lines; a side
    other than debit or credit; an amount that is not a positive integer up to ``MAX_AMOUNT``;
    an unknown currency or account; a line whose currency is not its account's; lines that
    touch only one account; and lines whose debits and credits differ in any currency.
    """
    if isinstance(lines, str | bytes) or len(lines) < 2:
        raise DomainError(
            "A journal entry needs at least two lines: one debit and one credit.",
            field="lines",
            code="TooFewLines",
        )
    posted = tuple(_check_line(i, line, accounts) for i, line in enumerate(lines))
    if len({line.account_id for line in posted}) < 2:
        raise DomainError(
            "A journal entry must touch at least two different accounts.",
            field="lines",
            code="SingleAccount",
        )
    _check_balanced(posted)
    return posted


def _check_line(index: int, line: LineInput, accounts: Mapping[str, Account]) -> PostedLine:
    at = f"lines[{index}]"
    side = _side(line.side, field=f"{at}.side")
    amount = _amount(line.amount, field=f"{at}.amount")
    currency = Currency.of(line.currency, field=f"{at}.currency")
    account = accounts.get(line.account_id)
    if account is None or account.currency is None:
        raise DomainError(
            f"There is no account with id {line.account_id!r}.",
            field=f"{at}.account_id",
            code="UnknownAccount",
        )
    if account.currency != currency:
        raise DomainError(
            f"Account {account.code} is kept in {account.currency}; "
            f"a line on it cannot be in {currency}.",
            field=f"{at}.currency",
            code="CurrencyMismatch",
        )
    return PostedLine(
        account_id=account.id,
        account_code=account.code,
        side=side.value,
        amount=amount,
        currency=currency.code,
    )


def _side(value: str, *, field: str) -> Side:
    try:
        return Side(value)
    except ValueError:
        raise DomainError(
            f"The side {value!r} is not valid; it must be 'debit' or 'credit'.",
            field=field,
            code="InvalidSide",
        ) from None


def _amount(value: int, *, field: str) -> int:
    # bool is a subclass of int, but True is not an amount of money.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DomainError(
            f"The amount {value!r} is not valid; it must be a positive whole number "
            "of minor units (cents for EUR).",
            field=field,
            code="InvalidAmount",
        )
    if value > MAX_AMOUNT:
        raise DomainError(
            f"The amount {value} exceeds the limit of {MAX_AMOUNT} minor units per line.",
            field=field,
            code="AmountTooLarge",
        )
    return value


def _check_balanced(lines: Sequence[PostedLine]) -> None:
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for line in lines:
        (debits if line.side == Side.DEBIT else credits)[line.currency] += line.amount
    for code in sorted(debits.keys() | credits.keys()):
        if debits[code] != credits[code]:
            currency = Currency.of(code)
            raise DomainError(
                f"The entry does not balance in {code}: debits total "
                f"{currency.format(debits[code])} {code} but credits total "
                f"{currency.format(credits[code])} {code} "
                f"({debits[code]} vs {credits[code]} minor units). "
                "Debits must equal credits in every currency.",
                field="lines",
                code="Unbalanced",
            )

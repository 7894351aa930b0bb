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
    an unknown currency or account; a closed account; a line whose currency is not its
    account's; lines that touch only one account; and lines whose debits and credits differ
    in any currency.
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


def movements(lines: Sequence[PostedLine]) -> dict[str, tuple[int, int, int]]:
    """Per account touched: (debits, credits, index of its first line), in line order."""
    moved: dict[str, tuple[int, int, int]] = {}
    for index, line in enumerate(lines):
        debit, credit, first = moved.get(line.account_id, (0, 0, index))
        if line.side == _DEBIT:
            debit += line.amount
        else:
            credit += line.amount
        moved[line.account_id] = (debit, credit, first)
    return moved


def mirrored(lines: Sequence[PostedLine]) -> tuple[LineInput, ...]:
    """The lines of a reversal (Storno): the same amounts on the other side."""
    return tuple(
        LineInput(
            line.account_id,
            Side.CREDIT if line.side == Side.DEBIT else Side.DEBIT,
            line.amount,
            line.currency,
        )
        for line in lines
    )


def _check_line(index: int, line: LineInput, accounts: Mapping[str, Account]) -> PostedLine:
    side = _side(line.side, index)
    amount = _amount(line.amount, index)
    currency = Currency.of(line.currency, field=f"lines[{index}].currency")
    account = accounts.get(line.account_id)
    if account is None or account.currency is None:
        raise DomainError(
            f"There is no account with id {line.account_id!r}.",
            field=f"lines[{index}].account_id",
            code="UnknownAccount",
        )
    if account.closed:
        account.ensure_bookable(field=f"lines[{index}].account_id")
    if account.currency.code != currency.code:
        raise DomainError(
            f"Account {account.code} is kept in {account.currency}; "
            f"a line on it cannot be in {currency}.",
            field=f"lines[{index}].currency",
            code="CurrencyMismatch",
        )
    return PostedLine(
        account_id=account.id,
        account_code=account.code,
        side=side,
        amount=amount,
        currency=currency.code,
    )


# Plain strings and a lookup table: this runs for every line of a 10,000-entry bulk posting.
_DEBIT = Side.DEBIT.value
_SIDES = {side.value: side.value for side in Side}


def _side(value: str, index: int) -> str:
    side = _SIDES.get(value) if isinstance(value, str) else None
    if side is None:
        raise DomainError(
            f"The side {value!r} is not valid; it must be 'debit' or 'credit'.",
            field=f"lines[{index}].side",
            code="InvalidSide",
        )
    return side


def _amount(value: int, index: int) -> int:
    # bool is a subclass of int, but True is not an amount of money.
    if type(value) is not int or value <= 0:
        raise DomainError(
            f"The amount {value!r} is not valid; it must be a positive whole number "
            "of minor units (cents for EUR).",
            field=f"lines[{index}].amount",
            code="InvalidAmount",
        )
    if value > MAX_AMOUNT:
        raise DomainError(
            f"The amount {value} exceeds the limit of {MAX_AMOUNT} minor units per line.",
            field=f"lines[{index}].amount",
            code="AmountTooLarge",
        )
    return value


def _check_balanced(lines: Sequence[PostedLine]) -> None:
    net: dict[str, int] = {}
    for line in lines:
        amount = line.amount if line.side == _DEBIT else -line.amount
        net[line.currency] = net.get(line.currency, 0) + amount
    if not any(net.values()):
        return
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for line in lines:
        (debits if line.side == _DEBIT else credits)[line.currency] += line.amount
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

"""Property: per-currency balanced line sets post; unbalancing any one line is refused."""

import itertools
import uuid
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger.domain import MAX_AMOUNT, Account, JournalEntry, LineInput
from shared_kernel.errors import DomainError

CURRENCIES = ("EUR", "USD", "JPY", "KWD")
# Three accounts per currency, so lines can spread over several accounts of one currency.
ACCOUNTS = {
    currency: [
        Account.open(
            str(uuid.uuid4()), f"{1000 + 10 * i + n}", f"{currency} {n}", "asset", currency
        )
        for n in range(3)
    ]
    for i, currency in enumerate(CURRENCIES)
}
CHART = {account.id: account for accounts in ACCOUNTS.values() for account in accounts}


def split(draw: st.DrawFn, total: int, max_parts: int) -> list[int]:
    """Split a positive total into between one and max_parts positive amounts."""
    parts = draw(st.integers(1, min(max_parts, total)))
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, total]
    return [high - low for low, high in itertools.pairwise(bounds)]


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[LineInput]:
    """Lines that balance in every currency, shuffled, over at least two accounts."""
    lines: list[LineInput] = []
    for currency in draw(st.sets(st.sampled_from(CURRENCIES), min_size=1)):
        accounts = ACCOUNTS[currency]
        total = draw(st.integers(1, 10**6))
        for side, amounts in (("debit", split(draw, total, 4)), ("credit", split(draw, total, 4))):
            for k, amount in enumerate(amounts):
                # The first debit and first credit use different accounts: two accounts at least.
                account = (
                    accounts[0 if side == "debit" else 1]
                    if k == 0
                    else draw(st.sampled_from(accounts))
                )
                lines.append(LineInput(account.id, side, amount, currency))
    return draw(st.permutations(lines))


def post(lines: list[LineInput]) -> JournalEntry:
    return JournalEntry.post(
        str(uuid.uuid4()), "V-1", date(2025, 1, 15), "Property test", lines, CHART
    )


@given(balanced_lines())
def test_balanced_multi_currency_lines_are_posted_and_sum_to_zero(lines: list[LineInput]) -> None:
    entry = post(lines)

    signed: dict[str, int] = defaultdict(int)
    for line in entry.lines:
        signed[line.currency] += line.signed_amount
    assert set(signed) == {line.currency for line in lines}
    assert all(total == 0 for total in signed.values())
    assert len(entry.lines) == len(lines)


@given(balanced_lines(), st.data())
def test_changing_one_amount_makes_the_entry_unbalanced_and_refused(
    lines: list[LineInput], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    new_amount = data.draw(st.integers(1, MAX_AMOUNT).filter(lambda amount: amount != line.amount))
    lines[index] = LineInput(line.account_id, line.side, new_amount, line.currency)

    with pytest.raises(DomainError) as refused:
        post(lines)

    assert refused.value.code == "Unbalanced"
    assert line.currency in refused.value.detail

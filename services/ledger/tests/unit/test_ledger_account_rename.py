"""Renaming an account: a new name is recorded as ``AccountRenamed`` and folded; a blank or
overlong name, a closed account and an unchanged name are refused and record nothing."""

from __future__ import annotations

import uuid

import pytest
from ledger.domain import Account, AccountRenamed
from shared_kernel.domain import DomainEvent
from shared_kernel.errors import Conflict, DomainError

pytestmark = pytest.mark.unit


def account_from(*more: DomainEvent, name: str = "Bank") -> Account:
    """An account opened as ``name`` and loaded from its stream with ``more`` events after."""
    opened = Account.open(str(uuid.uuid4()), "1200", name, "asset", "EUR")
    return Account.load(opened.id, [*opened.pending_events(), *more])


def test_a_rename_records_the_trimmed_name_who_and_why_and_a_reload_shows_it() -> None:
    account = account_from()

    account.rename("  Bank Sparkasse  ", "user:anna", "bank merged")

    renamed = AccountRenamed(account.id, "Bank Sparkasse", "user:anna", "bank merged")
    assert account.pending_events() == [renamed]
    assert account.name == "Bank Sparkasse"
    reloaded = Account.load(account.id, [*account_from().pending_events(), renamed])
    assert reloaded.name == "Bank Sparkasse"


def test_the_latest_rename_wins_when_the_stream_is_folded() -> None:
    first = AccountRenamed("a", "Bank A", "user:anna", "one")
    second = AccountRenamed("a", "Bank B", "user:anna", "two")

    account = account_from(first, second)

    assert (account.name, account.version) == ("Bank B", 3)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_blank_or_overlong_name_is_refused_as_when_opening(name: str) -> None:
    account = account_from()

    with pytest.raises(DomainError) as refused:
        account.rename(name, "user:anna", "why")

    assert (refused.value.status, refused.value.field) == (422, "name")
    assert refused.value.code == "InvalidAccountName"
    assert account.pending_events() == [] and account.name == "Bank"


def test_a_closed_account_keeps_its_name() -> None:
    account = account_from()
    account.close("user:anna", "moved banks")

    with pytest.raises(Conflict) as refused:
        account.rename("Old bank", "user:anna", "archive")

    assert refused.value.code == "AccountClosed"
    assert account.name == "Bank"


def test_renaming_to_the_current_name_changes_nothing_and_says_so() -> None:
    account = account_from(name="Bank")

    with pytest.raises(Conflict) as refused:
        account.rename(" Bank ", "user:anna", "typo")

    assert (refused.value.field, refused.value.code) == ("name", "AccountNameUnchanged")
    assert account.pending_events() == []

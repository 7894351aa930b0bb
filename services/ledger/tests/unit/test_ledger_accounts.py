import uuid

import pytest
from ledger.domain import Account, AccountOpened, AccountType, Currency, Side, parent_code_of
from shared_kernel.errors import DomainError


def new_id() -> str:
    return str(uuid.uuid4())


def test_opening_an_account_records_account_opened_with_its_fields() -> None:
    account_id = new_id()

    parent = Account.open(new_id(), "1200", "Bank", "asset", "EUR")

    account = Account.open(account_id, "1200.10", "Bank EUR", "asset", "EUR", parent=parent)

    assert account.pending_events() == [
        AccountOpened(
            account_id=account_id,
            code="1200.10",
            name="Bank EUR",
            account_type="asset",
            currency="EUR",
            parent_code="1200",
        )
    ]
    assert account.id == account_id
    assert account.is_open
    assert account.account_type is AccountType.ASSET
    assert account.currency == Currency("EUR", 2)


def test_account_type_may_be_given_as_the_enum() -> None:
    account = Account.open(new_id(), "3000", "Share capital", AccountType.EQUITY, "CHF")

    assert account.pending_events()[0] == AccountOpened(
        account_id=account.id,
        code="3000",
        name="Share capital",
        account_type="equity",
        currency="CHF",
    )


def test_the_event_type_names_the_ledger() -> None:
    assert AccountOpened.event_type == "ledger.AccountOpened"
    assert AccountOpened.version == 1
    assert Account.stream_type == "account"


@pytest.mark.parametrize(
    ("account_type", "normal_side"),
    [
        (AccountType.ASSET, Side.DEBIT),
        (AccountType.EXPENSE, Side.DEBIT),
        (AccountType.LIABILITY, Side.CREDIT),
        (AccountType.EQUITY, Side.CREDIT),
        (AccountType.REVENUE, Side.CREDIT),
    ],
)
def test_each_account_type_has_its_normal_side(
    account_type: AccountType, normal_side: Side
) -> None:
    assert account_type.normal_side is normal_side


@pytest.mark.parametrize("code", ["1", "1200", "1200.10", "4400-01", "1.2.3", "9" * 20])
def test_hierarchical_digit_codes_are_accepted(code: str) -> None:
    assert open_with_parents(code).code == code


def open_with_parents(code: str) -> Account:
    parent_code = parent_code_of(code)
    parent = open_with_parents(parent_code) if parent_code else None
    return Account.open(new_id(), code, "Some account", "asset", "EUR", parent=parent)


def test_a_sub_account_needs_its_parent_open_and_of_its_type() -> None:
    with pytest.raises(DomainError) as missing:
        Account.open(new_id(), "1200.10", "Bank EUR", "asset", "EUR")
    assert (missing.value.field, missing.value.code) == ("code", "ParentAccountMissing")

    liability = Account.open(new_id(), "1600", "Payables", "liability", "EUR")
    with pytest.raises(DomainError) as mismatch:
        Account.open(new_id(), "1600.1", "Payables X", "asset", "EUR", parent=liability)
    assert (mismatch.value.field, mismatch.value.code) == ("account_type", "ParentTypeMismatch")


@pytest.mark.parametrize(
    "code", ["", "ABC", "1200.", ".1200", "12..00", "12 00", " 1200", "1200a", "9" * 21]
)
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(DomainError) as refused:
        Account.open(new_id(), code, "Some account", "asset", "EUR")
    assert refused.value.field == "code"
    assert refused.value.code == "InvalidAccountCode"


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_blank_or_overlong_names_are_refused(name: str) -> None:
    with pytest.raises(DomainError) as refused:
        Account.open(new_id(), "1200", name, "asset", "EUR")
    assert refused.value.field == "name"


def test_name_is_stored_without_surrounding_blanks() -> None:
    assert Account.open(new_id(), "1200", "  Bank  ", "asset", "EUR").name == "Bank"


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        Account.open(new_id(), "1200", "Bank", "asset", "XYZ")
    assert refused.value.field == "currency"
    assert refused.value.code == "UnknownCurrency"


def test_unknown_account_type_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        Account.open(new_id(), "1200", "Bank", "cash", "EUR")
    assert refused.value.field == "account_type"
    assert refused.value.code == "UnknownAccountType"


def test_an_account_rebuilt_from_its_events_equals_the_original() -> None:
    original = Account.open(new_id(), "1600", "Trade payables", "liability", "KWD")

    rebuilt = Account.load(original.id, original.pending_events())

    assert (rebuilt.id, rebuilt.code, rebuilt.name, rebuilt.account_type, rebuilt.currency) == (
        original.id,
        original.code,
        original.name,
        original.account_type,
        original.currency,
    )
    assert rebuilt.version == 1
    assert rebuilt.pending_events() == []


def test_an_empty_stream_is_not_an_open_account() -> None:
    assert not Account.load(new_id(), []).is_open

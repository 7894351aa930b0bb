"""Response bodies of the reports: every figure an integer in minor units, per currency, and
a balance on the account's normal side."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class AccountRef(BaseModel):
    account_id: str
    code: str
    name: str
    account_type: str
    normal_side: str
    currency: str
    parent_code: str | None


class TrialBalanceRow(AccountRef):
    opening_balance: int
    debits: int
    credits: int
    closing_balance: int


class TrialBalanceTotals(BaseModel):
    currency: str
    debits: Annotated[int, Field(description="Equals credits when the books balance")]
    credits: int
    opening_debit_balances: int
    opening_credit_balances: int
    closing_debit_balances: int
    closing_credit_balances: int


class TrialBalance(BaseModel):
    """Summen- und Saldenliste of one month."""

    period: str
    status: Literal["open", "closed"]
    accounts: list[TrialBalanceRow]
    totals: list[TrialBalanceTotals]


class AccountBalance(AccountRef):
    balance: int


class Balances(BaseModel):
    as_of: date
    accounts: list[AccountBalance]


class Section(BaseModel):
    accounts: list[AccountBalance]
    total: int


class BalanceSheetOfCurrency(BaseModel):
    currency: str
    asset: Section
    liability: Section
    equity: Section
    result: Annotated[int, Field(description="Revenue less expenses booked up to the date")]
    liabilities_and_equity: int
    balanced: bool


class BalanceSheet(BaseModel):
    as_of: date
    currencies: list[BalanceSheetOfCurrency]


class AccountAmount(AccountRef):
    amount: int


class PnLSection(BaseModel):
    accounts: list[AccountAmount]
    total: int


class ProfitAndLossOfCurrency(BaseModel):
    currency: str
    revenue: PnLSection
    expense: PnLSection
    result: int


class ProfitAndLoss(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: Annotated[date, Field(alias="from")]
    to: date
    currencies: list[ProfitAndLossOfCurrency]

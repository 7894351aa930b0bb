"""Request and response bodies of the ledger API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Code = Annotated[str, Field(min_length=1, max_length=20, examples=["1200"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class OpenAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    account_type: Literal["asset", "liability", "equity", "revenue", "expense"]
    currency: CurrencyCode


class LineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Annotated[str, Field(min_length=1, max_length=64)]
    side: Literal["debit", "credit"]
    amount: Annotated[StrictInt, Field(description="Minor units of the currency, > 0")]
    currency: CurrencyCode


class PostJournalEntryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    voucher_number: Annotated[str, Field(min_length=1, max_length=64)]
    booking_date: date
    text: Annotated[str, Field(min_length=1, max_length=500)]
    lines: Annotated[list[LineBody], Field(min_length=2, max_length=1000)]


class Written(BaseModel):
    """The answer to a command: what was written and the position to read it back at."""

    id: str
    version: int
    position: int


class AccountView(BaseModel):
    account_id: str
    code: str
    name: str
    account_type: str
    normal_side: str
    currency: str
    opened_at: datetime
    debit_total: int
    credit_total: int
    balance: int
    line_count: int


class LineView(BaseModel):
    entry_id: str
    line_no: int
    account_id: str
    account_code: str
    side: str
    amount: int
    currency: str
    booking_date: date
    position: int
    voucher_number: str | None = None
    text: str | None = None


class EntryView(BaseModel):
    entry_id: str
    voucher_number: str
    booking_date: date
    text: str
    recorded_at: datetime
    recorded_by: str
    correlation_id: str
    position: int
    lines: list[LineView]


class AccountPage(BaseModel):
    items: list[AccountView]
    next_cursor: str | None


class LinePage(BaseModel):
    items: list[LineView]
    next_cursor: str | None


class EntryPage(BaseModel):
    items: list[EntryView]
    next_cursor: str | None

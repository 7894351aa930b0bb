"""Request and response bodies of the ledger API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from shared_kernel.api_types import JSON_INTEGER

from ledger.domain import MAX_AMOUNT, EntryDetails, LineInput

# Text without control characters (tab and line breaks aside): PostgreSQL cannot store NUL,
# and a journal has no use for the others. The pattern also refuses unpaired surrogates.
PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _iso_day(value: Any) -> Any:
    """A calendar day as ``YYYY-MM-DD`` only: no timestamps such as ``0`` for 1970-01-01."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a date must be written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_day)]
Id = Annotated[str, Field(pattern=ID_PATTERN, examples=["0192a3f4-7b1e-7c3d-9f00-5a1b2c3d4e5f"])]
Code = Annotated[str, Field(min_length=1, max_length=20, pattern=PLAIN, examples=["1200"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=PLAIN)]
Constraint = Literal["none", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


AccountName = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]


class OpenAccountBody(Body):
    code: Code
    name: AccountName
    account_type: Literal["asset", "liability", "equity", "revenue", "expense"]
    currency: CurrencyCode
    balance_constraint: Annotated[
        Constraint,
        Field(
            description="No overdraft: which side may not exceed the other (TigerBeetle's "
            "flags). 'credits_must_not_exceed_debits' keeps an asset account from going "
            "below zero."
        ),
    ] = "none"
    credit_limit: Annotated[
        StrictInt,
        Field(ge=0, description="How far the constrained side may exceed the other, minor units"),
        JSON_INTEGER,
    ] = 0


class CloseAccountBody(Body):
    reason: Text


class RenameAccountBody(Body):
    name: AccountName
    reason: Text


class LineBody(Body):
    account_id: Id
    side: Literal["debit", "credit"]
    amount: Annotated[
        StrictInt,
        Field(gt=0, le=MAX_AMOUNT, description="Minor units of the currency"),
        JSON_INTEGER,
    ]
    currency: CurrencyCode

    def to_input(self) -> LineInput:
        return LineInput(self.account_id, self.side, self.amount, self.currency)


class EntryBody(Body):
    """A journal entry with its GoBD fields; the entry date is set by the system."""

    voucher_number: Annotated[str, Field(min_length=1, max_length=64, pattern=PLAIN)]
    voucher_date: Annotated[
        IsoDate | None, Field(description="Date of the voucher; defaults to the booking date")
    ] = None
    booking_date: IsoDate
    text: Text
    source_document: Annotated[
        str | None,
        Field(max_length=500, pattern=PLAIN, description="Reference to the source document"),
    ] = None
    metadata: Annotated[
        dict[
            Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")],
            Annotated[str, Field(max_length=500, pattern=PLAIN)],
        ],
        Field(
            max_length=32,
            description="Free key-value data; 'counterparty' and 'desk' are read by risk",
            examples=[{"counterparty": "ACME GmbH", "desk": "rates"}],
            # Keys that miss the pattern are refused, so the schema says so.
            json_schema_extra={"additionalProperties": False},
        ),
    ] = {}
    lines: Annotated[list[LineBody], Field(min_length=2, max_length=1000)]

    def details(self) -> EntryDetails:
        return EntryDetails(
            voucher_number=self.voucher_number,
            booking_date=self.booking_date,
            text=self.text,
            voucher_date=self.voucher_date,
            source_document=self.source_document,
            metadata=self.metadata,
        )

    def line_inputs(self) -> tuple[LineInput, ...]:
        return tuple(line.to_input() for line in self.lines)


class PostJournalEntryBody(EntryBody):
    pass


class BulkPostBody(Body):
    entries: Annotated[list[EntryBody], Field(min_length=1, max_length=10_000)]


class ReverseEntryBody(Body):
    reason: Text
    booking_date: Annotated[
        IsoDate | None,
        Field(description="Defaults to the original's booking date; must be in an open period"),
    ] = None
    voucher_number: Annotated[
        str | None,
        Field(min_length=1, max_length=64, pattern=PLAIN, description="Defaults to ST-<original>"),
    ] = None
    voucher_date: IsoDate | None = None
    text: Annotated[str | None, Field(min_length=1, max_length=500, pattern=PLAIN)] = None


class RejectionBody(Body):
    reason: Text


class Written(BaseModel):
    """The answer to a command: what was written and the position to read it back at."""

    id: str
    version: int
    position: int


class ApprovalWritten(Written):
    """The approval's answer: the posted entry (``id``), and the request it came from."""

    request_id: str


class BulkWritten(BaseModel):
    """The answer to a bulk posting: every entry's id, in the order given."""

    batch_id: str
    count: int
    entry_ids: list[str]
    position: int


class BookingAccountView(BaseModel):
    account_id: str
    code: str
    name: str
    account_type: str
    currency: str


class BookingAccountPage(BaseModel):
    items: list[BookingAccountView]
    next_cursor: str | None


class AccountView(BaseModel):
    account_id: str
    code: str
    name: str
    account_type: str
    normal_side: str
    currency: str
    parent_code: str | None
    balance_constraint: str
    credit_limit: int
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    version: int
    debit_total: int
    credit_total: int
    balance: int
    debit_pending: int
    credit_pending: int
    available_balance: int
    headroom: int | None
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
    voucher_date: date
    booking_date: date
    period: str
    text: str
    source_document: str | None
    metadata: dict[str, str]
    recorded_at: datetime
    recorded_by: str
    approved_by: str | None
    request_id: str | None
    reverses: str | None
    reversed_by: str | None
    batch_id: str | None
    correlation_id: str
    version: int
    position: int
    lines: list[LineView]


class RequestLineView(BaseModel):
    line_no: int
    account_id: str
    account_code: str
    side: str
    amount: int
    currency: str


class ClearanceView(BaseModel):
    """Risk's clearance of a deal. ``status``: ``not_required`` (not a deal: no counterparty,
    no desk), ``awaiting`` (risk has not answered yet), ``cleared`` or ``refused`` (then
    ``code``, ``reason``, ``limit_id`` and ``shortfall`` say why; approval is refused)."""

    status: Literal["not_required", "awaiting", "cleared", "refused"]
    code: str | None = None
    reason: str | None = None
    limit_id: str | None = None
    shortfall: Annotated[int | None, Field(description="Minor units over the limit")] = None
    currency: str | None = None


class BookingRequestView(BaseModel):
    request_id: str
    status: str
    voucher_number: str
    voucher_date: date
    booking_date: date
    period: str
    text: str
    source_document: str | None
    metadata: dict[str, str]
    submitted_by: str
    submitted_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    entry_id: str | None
    correlation_id: Annotated[
        str | None, Field(description="The case of the submission (GET /cases/{correlation_id})")
    ] = None
    clearance: ClearanceView
    version: int
    position: int
    lines: list[RequestLineView]


class PeriodView(BaseModel):
    period: str
    status: Literal["open", "closed"]
    closed_at: datetime | None
    closed_by: str | None
    entries: int


class AccountPage(BaseModel):
    items: list[AccountView]
    next_cursor: str | None


class LinePage(BaseModel):
    items: list[LineView]
    next_cursor: str | None


class EntryPage(BaseModel):
    items: list[EntryView]
    next_cursor: str | None


class BookingRequestPage(BaseModel):
    items: list[BookingRequestView]
    next_cursor: str | None


class PeriodList(BaseModel):
    items: list[PeriodView]


class StatementLine(BaseModel):
    entry_id: str
    line_no: int
    booking_date: date
    voucher_number: str
    text: str
    side: str
    amount: int
    currency: str
    position: int
    balance: Annotated[int, Field(description="Running balance after this line (normal side)")]


class Statement(BaseModel):
    account: AccountView
    from_: Annotated[date, Field(alias="from")]
    to: date
    opening_balance: int
    closing_balance: int
    items: list[StatementLine]
    next_cursor: str | None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class VerificationMismatch(BaseModel):
    what: str
    position: int
    event_id: str
    event_type: str
    stream_type: str
    stream_id: str
    entry_id: str | None
    voucher_number: str | None
    recorded_at: datetime
    recorded_by: str


class Verification(BaseModel):
    intact: bool
    checked: int
    seconds: float
    first_mismatch: VerificationMismatch | None
    detail: str


Report = dict[str, Any]

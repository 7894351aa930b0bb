"""Request and response bodies of the register API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from shared_kernel.api_types import JSON_INTEGER

from risk.domain.register import RiskDetails
from risk.domain.scoring import Effectiveness, Reduces

# Text without control characters (tab and line breaks aside); also refuses lone surrogates.
PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _iso_day(value: Any) -> Any:
    """A calendar day as ``YYYY-MM-DD`` only (no timestamps such as ``0``)."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a date must be written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_day)]
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
Description = Annotated[str, Field(max_length=4000, pattern=PLAIN)]
Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=PLAIN)]
Note = Annotated[str, Field(max_length=1000, pattern=PLAIN)]
Person = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
Rating = Annotated[StrictInt, Field(ge=1, le=5), JSON_INTEGER]
Category = Literal["credit", "market", "liquidity", "operational", "it", "compliance"]
LevelName = Literal["low", "medium", "high", "critical"]
TreatmentName = Literal["mitigate", "accept", "transfer", "avoid"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskDetailsBody(Body):
    title: Title
    description: Description = ""
    category: Category
    owner: Person

    def details(self) -> RiskDetails:
        return RiskDetails(self.title, self.description, self.category, self.owner)


class IdentifyRiskBody(RiskDetailsBody):
    likelihood: Rating
    impact: Rating


class ChangeDetailsBody(RiskDetailsBody):
    reason: Reason


class ReassessBody(Body):
    likelihood: Rating
    impact: Rating
    reason: Reason


class ControlBody(Body):
    name: Title
    description: Description = ""
    effectiveness: Annotated[
        Effectiveness,
        Field(description="none, weak, moderate, strong, very_strong: 0 to 4 steps off its axis"),
    ]
    reduces: Annotated[
        Reduces, Field(description="likelihood (prevents/detects) or impact (limits damage)")
    ] = Reduces.LIKELIHOOD
    reason: Note = ""


class ChangeControlBody(ControlBody):
    reason: Reason


class ReasonBody(Body):
    reason: Reason


class NoteBody(Body):
    note: Note = ""


class TreatmentBody(Body):
    treatment: TreatmentName
    reason: Reason


class ActionBody(Body):
    title: Title
    owner: Person
    due_date: IsoDate
    reason: Note = ""


class ChangeActionBody(ActionBody):
    reason: Reason


class AcceptanceBody(Body):
    reason: Reason
    until: Annotated[IsoDate, Field(description="accepted up to and including this day (UTC)")]


class Written(BaseModel):
    """What a command answers: the risk, its new version, and the position to read at."""

    id: str
    version: int
    position: int


class ChildWritten(Written):
    """Also names the control, action or acceptance the command created."""

    child_id: str


class RatingView(BaseModel):
    likelihood: int
    impact: int
    score: int
    level: str


class AcceptanceView(BaseModel):
    acceptance_id: str
    status: str
    reason: str
    until: date
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class RiskSummary(BaseModel):
    risk_id: str
    title: str
    category: str
    owner: str
    status: str
    inherent: RatingView
    residual: RatingView
    treatment: str | None
    last_reviewed_on: date
    review_due: date
    acceptance_status: str | None
    # The latest acceptance in full, so a list shows who asked for what without a read each.
    acceptance: AcceptanceView | None
    review_overdue: bool
    overdue_actions: int
    version: int
    position: int


class RiskPage(BaseModel):
    items: list[RiskSummary]
    next_cursor: str | None


class ControlView(BaseModel):
    control_id: str
    name: str
    description: str
    effectiveness: str
    reduces: str
    added_at: datetime
    changed_at: datetime


class ActionView(BaseModel):
    action_id: str
    title: str
    owner: str
    due_date: date
    done: bool
    planned_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    note: str | None


class RiskView(RiskSummary):
    description: str
    identified_at: datetime
    identified_by: str
    closed_at: datetime | None
    controls: list[ControlView]
    actions: list[ActionView]


class HistoryItem(BaseModel):
    position: int
    version: int
    event_type: str
    recorded_at: datetime
    actor: str
    office: str
    correlation_id: str
    data: dict[str, Any]


class RiskHistory(BaseModel):
    risk_id: str
    events: list[HistoryItem]


class HeatMap(BaseModel):
    rows: str
    columns: str
    inherent: list[list[int]]
    residual: list[list[int]]
    levels: list[list[str]]
    total: int


class OverdueReview(BaseModel):
    risk_id: str
    title: str
    owner: str
    review_due: date
    residual_level: str
    days_overdue: int


class OverdueAction(BaseModel):
    risk_id: str
    risk_title: str
    action_id: str
    title: str
    owner: str
    due_date: date
    days_overdue: int


class OverdueReport(BaseModel):
    as_of: datetime
    reviews: list[OverdueReview]
    actions: list[OverdueAction]

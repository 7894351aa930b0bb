"""Request and response bodies of the tickets API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)
from shared_kernel.api_types import JSON_INTEGER
from shared_kernel.errors import DomainError

from tickets.domain.sla import SlaPolicy

# Text without control characters (tab and line breaks aside); refuses unpaired surrogates.
PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"


def _iso_day(value: Any) -> Any:
    """A calendar day as ``YYYY-MM-DD`` only: no timestamps such as ``0`` for 1970-01-01."""
    if not isinstance(value, str) or not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_day)]


def _rfc3339(value: Any) -> Any:
    """A time as an RFC 3339 string only: no Unix timestamps such as ``0``."""
    if value is not None and not isinstance(value, str):
        raise ValueError("a time must be written as RFC 3339, e.g. 2026-11-26T10:00:00Z")
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("a time must carry its offset, e.g. 2026-11-26T10:00:00Z")
    return value


Id = Annotated[str, Field(pattern=ID_PATTERN)]
Level = Annotated[StrictInt, Field(ge=1, le=4, description="1 = highest, 4 = lowest"), JSON_INTEGER]
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=PLAIN)]
Member = Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]
LongText = Annotated[str, Field(max_length=20_000, pattern=PLAIN)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
# Up to 90 days of business time: anything longer is a typo, not a service level.
TargetSeconds = Annotated[StrictInt, Field(ge=60, le=90 * 24 * 3600), JSON_INTEGER]


class CalendarBody(Body):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    time_zone: Annotated[
        str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$", examples=["Europe/Berlin"])
    ]
    working_days: Annotated[
        list[Annotated[StrictInt, Field(ge=0, le=6), JSON_INTEGER]],
        Field(min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday"),
    ]
    opens: Annotated[str, Field(pattern=HHMM, examples=["08:00"])]
    closes: Annotated[str, Field(pattern=HHMM, examples=["18:00"])]
    holidays: Annotated[list[IsoDate], Field(max_length=400)] = []


class TargetBody(Body):
    first_response_seconds: TargetSeconds
    resolution_seconds: TargetSeconds


class SlaPolicyBody(Body):
    """An SLA policy: targets per priority in business time of the calendar."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    calendar: CalendarBody
    targets: dict[Literal["1", "2", "3", "4"], TargetBody]
    warning_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.75

    def to_policy(self) -> SlaPolicy:
        """The domain's policy; its refusals name the field inside the request body."""
        try:
            return SlaPolicy.from_dict(self.model_dump(mode="json"))
        except DomainError as error:
            field = f"sla_policy.{error.field}" if error.field else "sla_policy"
            raise DomainError(error.detail, field=field, code=error.code) from error


class CreateQueueBody(Body):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    escalation_group: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=PLAIN,
            description="Who a breached ticket escalates to: a queue id or a group name",
        ),
    ]
    members: Annotated[list[Member], Field(max_length=200)] = []
    auto_assign: StrictBool = True
    sla_policy: Annotated[
        SlaPolicyBody | None, Field(description="The default policy when absent")
    ] = None
    priority_matrix: Annotated[
        list[list[Level]] | None,
        Field(description="4 rows (impact 1..4) of 4 priorities (urgency 1..4)"),
    ] = None


class MemberBody(Body):
    member: Member


class AvailabilityBody(Body):
    available: StrictBool


class OpenTicketBody(Body):
    ticket_type: Literal["incident", "service_request", "problem"]
    queue_id: Annotated[Id | None, Field(description="The default queue when absent")] = None
    impact: Level
    urgency: Level
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=PLAIN)]
    description: LongText = ""
    category: Annotated[str, Field(max_length=100, pattern=PLAIN)] = ""
    configuration_item: Annotated[
        str | None,
        Field(min_length=1, max_length=200, pattern=PLAIN, description="e.g. a host or service"),
    ] = None


class ClassificationBody(Body):
    impact: Level | None = None
    urgency: Level | None = None
    reason: Reason


class TransitionBody(Body):
    to: Literal["new", "open", "pending", "resolved", "closed", "cancelled"]
    reason: Reason
    resolve_linked_incidents: Annotated[
        StrictBool, Field(description="Resolving a problem resolves its linked incidents")
    ] = False


class AssignmentBody(Body):
    assignee: Annotated[
        Member | None, Field(description="A member of the ticket's queue; absent: take it")
    ] = None


class MessageBody(Body):
    body: Annotated[str, Field(min_length=1, max_length=20_000, pattern=PLAIN)]


class RatingBody(Body):
    rating: Annotated[
        StrictInt,
        Field(ge=1, le=5, description="1 = very dissatisfied ... 5 = very satisfied"),
        JSON_INTEGER,
    ]
    comment: Annotated[str, Field(max_length=2_000, pattern=PLAIN)] = ""


class LinkBody(Body):
    kind: Literal["parent_of", "child_of", "caused_by", "duplicate_of"]
    target_id: Id


class MergeBody(Body):
    survivor_id: Id
    reason: Reason


class AlertBody(Body):
    host: Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
    check: Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
    state: Literal["firing", "resolved", "problem", "recovery"]
    summary: Annotated[str, Field(max_length=2000, pattern=PLAIN)] = ""
    severity: Literal["critical", "major", "warning", "minor", "info"] | None = None
    occurred_at: Annotated[datetime | None, BeforeValidator(_rfc3339), AfterValidator(_aware)] = (
        None
    )


class Written(BaseModel):
    """The answer to a command: what was written and the position to read it back at."""

    id: str
    version: int
    position: int


class AlertWritten(BaseModel):
    """The incident the alert went to (None: a recovery with no open incident)."""

    ticket_id: str | None
    version: int
    position: int

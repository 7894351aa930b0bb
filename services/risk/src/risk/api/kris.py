"""Routes of the key risk indicators (KRIs) and the KRI status report.

Risk officers define KRIs; threshold changes are four-eyes (one risk officer requests, a
second one approves); monitoring systems (role ``monitoring``) and risk officers post
measurements; risk officers, controllers and auditors read (monitoring systems may read KRIs
too, to know their ids and thresholds). Numbers are strict JSON numbers: no ``true``, no
``"3"``, no NaN or infinity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, uuid5

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from shared_kernel.eventstore import new_event_id
from shared_kernel.identity import Caller as SignedCaller
from shared_kernel.identity import require_any_role

from risk.api.dependencies import (
    KRI_READERS,
    MEASURERS,
    READERS,
    RISK_OFFICERS,
    Caller,
    CommandCall,
    Consistent,
    RiskDep,
    command_call,
)
from risk.app.kri_commands import (
    ChangeKriDetails,
    DecideKriThresholdChange,
    DefineKri,
    RecordKriMeasurement,
    RequestKriThresholdChange,
)
from risk.app.kri_queries import MAX_HISTORY, MAX_PAGE
from risk.domain.kri import KriDefinition, KriSource

router = APIRouter(tags=["kris"])

PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
KRI_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_GENERATED_IDS = uuid5(NAMESPACE_URL, "urn:backoffice:risk:kri")

ChangeId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
KriId = Annotated[str, Path(pattern=KRI_ID_PATTERN, examples=["open-critical-incidents"])]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Direction = Literal["higher_is_worse", "lower_is_worse"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DefineKriBody(Body):
    kri_id: Annotated[str, Field(pattern=KRI_ID_PATTERN, examples=["failed-payments"])]
    name: Text
    description: Annotated[str, Field(max_length=2000, pattern=PLAIN)] = ""
    unit: Annotated[str, Field(max_length=50, pattern=PLAIN, examples=["%", "count"])]
    direction: Direction
    amber: Number
    red: Number
    source: Annotated[
        Literal["measurement", "stream"],
        Field(description="'measurement': posted by systems; 'stream': counted by the service"),
    ] = "measurement"
    stream_rule: Annotated[
        Literal[
            "tickets.open-critical-incidents",
            "tickets.sla-breaches-30d",
            "tickets.customer-satisfaction-30d",
        ]
        | None,
        Field(description="The stream rule of a stream-fed KRI"),
    ] = None
    owner: Text


class KriDetailsBody(Body):
    name: Text
    description: Annotated[str, Field(max_length=2000, pattern=PLAIN)] = ""
    unit: Annotated[str, Field(max_length=50, pattern=PLAIN)]
    owner: Text
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PLAIN)]


class ThresholdChangeBody(Body):
    direction: Annotated[Direction | None, Field(description="Default: the current one")] = None
    amber: Number
    red: Number
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PLAIN)]


class ApprovalBody(Body):
    note: Annotated[str, Field(max_length=500, pattern=PLAIN)] = ""


class RejectionBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=PLAIN)]


class MeasurementBody(Body):
    value: Number
    measured_at: Annotated[
        AwareDatetime | None, Field(description="RFC 3339 with time zone; default: now")
    ] = None
    source: Annotated[
        str | None,
        Field(min_length=1, max_length=200, pattern=PLAIN, description="Default: the caller"),
    ] = None


class Written(BaseModel):
    id: str
    version: int
    position: int


class MeasurementWritten(Written):
    measurement_id: str


class ChangeWritten(Written):
    change_id: str


class MeasurementView(BaseModel):
    measurement_id: str
    value: float | None = Field(description="None: nothing to measure (say no ratings)")
    measured_at: datetime
    status: Literal["green", "amber", "red"] | None
    current: bool = Field(description="False for an out-of-order measurement (kept, not used)")
    source: str
    recorded_by: str
    recorded_at: datetime
    position: int


class KriView(BaseModel):
    kri_id: str
    name: str
    description: str
    unit: str
    direction: str
    amber: float
    red: float
    source: str
    stream_rule: str | None
    owner: str
    status: Literal["green", "amber", "red"] | None
    value: float | None
    measured_at: datetime | None
    measurement_id: str | None
    measurement_count: int
    status_since: datetime | None
    pending_change_id: str | None
    defined_by: str
    defined_at: datetime
    version: int
    position: int
    updated_at: datetime


class ListedKri(KriView):
    history: list[MeasurementView] | None = Field(
        default=None,
        description="Only with ?history=n: the latest n measurements, newest first",
    )


class KriPage(BaseModel):
    items: list[ListedKri]
    next_cursor: str | None


class MeasurementPage(BaseModel):
    items: list[MeasurementView]
    next_cursor: str | None


class StatusChangeView(BaseModel):
    kri_id: str
    from_status: str | None
    to_status: str = Field(description="green, amber, red, or unmeasured (value cleared)")
    value: float | None
    measurement_id: str
    measured_at: datetime
    cause: str
    changed_at: datetime
    position: int


class ThresholdChangeView(BaseModel):
    change_id: str
    state: Literal["pending", "approved", "rejected"]
    direction: str
    amber: float
    red: float
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_text: str | None
    position: int


class KriStatusReport(BaseModel):
    counts: dict[str, int]
    kris: list[KriView]
    changes: list[StatusChangeView]
    changes_truncated: bool


def _written(result: Any) -> Written:
    return Written(
        id=result.aggregate_id.removeprefix("kri:"),
        version=result.version,
        position=result.position,
    )


def generated_id(caller: SignedCaller, idempotency_key: str | None, what: str) -> str:
    """The id of a new measurement or change request. A retry with the same Idempotency-Key
    names the same one (the stored first answer holds no such id, so it derives from the key)."""
    if idempotency_key is None:
        return str(new_event_id())
    return str(uuid5(_GENERATED_IDS, f"{what}\n{caller.subject}\n{idempotency_key}"))


@router.post("/v1/kris", status_code=status.HTTP_201_CREATED, response_model=Written)
async def define_kri(
    body: DefineKriBody,
    risk: RiskDep,
    cmd: Annotated[CommandCall, Depends(command_call(RISK_OFFICERS, "defining a KRI"))],
) -> Any:
    """Define a KRI with its amber and red thresholds and its direction."""
    command = DefineKri(
        body.kri_id,
        KriDefinition(
            name=body.name,
            description=body.description,
            unit=body.unit,
            owner=body.owner,
            source=KriSource(body.source),
            stream_rule=body.stream_rule,
        ),
        body.direction,
        body.amber,
        body.red,
    )
    return _written(await cmd.run(risk.kri_commands.define_kri, command, location="/v1/kris/{id}"))


@router.put("/v1/kris/{kri_id}/details", response_model=Written)
async def change_kri_details(
    kri_id: KriId,
    body: KriDetailsBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "changing a KRI", if_match=True))
    ],
) -> Any:
    """Change name, description, unit and owner (all four as they should be, and why)."""
    command = ChangeKriDetails(
        kri_id,
        body.name,
        body.description,
        body.unit,
        body.owner,
        body.reason,
        cmd.expected_version,
    )
    return _written(await cmd.run(risk.kri_commands.change_details, command))


@router.post(
    "/v1/kris/{kri_id}/threshold-changes",
    status_code=status.HTTP_201_CREATED,
    response_model=ChangeWritten,
)
async def request_kri_threshold_change(
    kri_id: KriId,
    body: ThresholdChangeBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(RISK_OFFICERS, "requesting a KRI threshold change", if_match=True)),
    ],
) -> Any:
    """Request new amber/red thresholds (and direction). They apply once a second risk
    officer approves (four-eyes); one request may be pending at a time."""
    change_id = generated_id(cmd.caller, cmd.idempotency_key, "threshold-change")
    command = RequestKriThresholdChange(
        kri_id, change_id, body.direction, body.amber, body.red, body.reason, cmd.expected_version
    )
    result = await cmd.run(
        risk.kri_commands.request_threshold_change,
        command,
        location=f"/v1/kris/{kri_id}/threshold-changes",
    )
    return ChangeWritten(**_written(result).model_dump(), change_id=change_id)


@router.post("/v1/kris/{kri_id}/threshold-changes/{change_id}/approval", response_model=Written)
async def approve_kri_threshold_change(
    kri_id: KriId,
    change_id: ChangeId,
    body: ApprovalBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(RISK_OFFICERS, "approving a KRI threshold change", if_match=True)),
    ],
) -> Any:
    """Approve a pending threshold change: never by its requester (403). The latest value is
    judged again under the new thresholds."""
    command = DecideKriThresholdChange(kri_id, change_id, body.note, cmd.expected_version)
    return _written(await cmd.run(risk.kri_commands.approve_threshold_change, command))


@router.post("/v1/kris/{kri_id}/threshold-changes/{change_id}/rejection", response_model=Written)
async def reject_kri_threshold_change(
    kri_id: KriId,
    change_id: ChangeId,
    body: RejectionBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(RISK_OFFICERS, "rejecting a KRI threshold change", if_match=True)),
    ],
) -> Any:
    """Reject (or, by its requester, withdraw) a pending threshold change."""
    command = DecideKriThresholdChange(kri_id, change_id, body.reason, cmd.expected_version)
    return _written(await cmd.run(risk.kri_commands.reject_threshold_change, command))


@router.get(
    "/v1/kris/{kri_id}/threshold-changes",
    response_model=list[ThresholdChangeView],
    dependencies=[Consistent],
)
async def kri_threshold_changes(
    kri_id: KriId, risk: RiskDep, caller: Caller, limit: Limit = 100
) -> Any:
    """The KRI's threshold change requests with their decisions, newest first."""
    require_any_role(caller, READERS, "reading KRI threshold changes")
    return await risk.kri_queries.threshold_changes(kri_id, limit)


@router.post(
    "/v1/kris/{kri_id}/measurements",
    status_code=status.HTTP_201_CREATED,
    response_model=MeasurementWritten,
)
async def record_kri_measurement(
    kri_id: KriId,
    body: MeasurementBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(
            command_call(
                MEASURERS,
                "posting a KRI measurement",
                if_match=True,
                permit=require_any_role,
            )
        ),
    ],
) -> Any:
    """Record a measured value. The status follows from the thresholds; a change of status
    is recorded with it. A value measured before the latest one is kept in the history but
    changes neither the current value nor the status."""
    measurement_id = generated_id(cmd.caller, cmd.idempotency_key, "measurement")
    command = RecordKriMeasurement(
        kri_id, measurement_id, body.value, body.measured_at, body.source, cmd.expected_version
    )
    result = await cmd.run(
        risk.kri_commands.record_measurement, command, location=f"/v1/kris/{kri_id}/measurements"
    )
    return MeasurementWritten(**_written(result).model_dump(), measurement_id=measurement_id)


# ``history`` is left out of items unless asked for (exclude_unset: every other field is a
# column of the row, so always set).
@router.get(
    "/v1/kris",
    response_model=KriPage,
    response_model_exclude_unset=True,
    dependencies=[Consistent],
)
async def list_kris(
    risk: RiskDep,
    caller: Caller,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Limit = 100,
    status: Literal["green", "amber", "red", "unmeasured"] | None = None,
    history: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_HISTORY,
            description="Measurements per KRI to include, newest first (0: none)",
        ),
    ] = 0,
) -> Any:
    """KRIs by id; with ``history`` > 0 each carries its latest measurements (as
    ``/v1/kris/{kri_id}/measurements`` answers them), one read for the whole page."""
    require_any_role(caller, KRI_READERS, "reading KRIs")
    page = await risk.kri_queries.kris(cursor, limit, status, history)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/v1/kris/{kri_id}", response_model=KriView, dependencies=[Consistent])
async def get_kri(kri_id: KriId, risk: RiskDep, caller: Caller) -> Any:
    require_any_role(caller, KRI_READERS, "reading KRIs")
    return await risk.kri_queries.kri(kri_id)


@router.get(
    "/v1/kris/{kri_id}/measurements", response_model=MeasurementPage, dependencies=[Consistent]
)
async def kri_measurements(
    kri_id: KriId,
    risk: RiskDep,
    caller: Caller,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Limit = 100,
) -> Any:
    """The measurement history, newest ``measured_at`` first, within ``[from, to)``."""
    require_any_role(caller, KRI_READERS, "reading KRI measurements")
    page = await risk.kri_queries.measurements(kri_id, cursor, limit, from_, to)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/v1/reports/kri-status", response_model=KriStatusReport, dependencies=[Consistent])
async def kri_status_report(
    risk: RiskDep,
    caller: Caller,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Any:
    """Every KRI with its status (red first), counts per status, and the status changes
    recorded in ``[from, to)`` (newest first, at most ``limit``)."""
    require_any_role(caller, READERS, "reading the KRI status report")
    return await risk.kri_queries.status_report(from_, to, max_changes=limit)

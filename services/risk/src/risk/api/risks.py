"""Routes of the risk register: identify and maintain risks (risk officers of the back
office), request and decide acceptances (four-eyes), read risks and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from shared_kernel.identity import require_any_role
from shared_kernel.unit_of_work import CommandResult

from risk.api.dependencies import (
    READERS,
    RISK_OFFICERS,
    Caller,
    CommandCall,
    Consistent,
    RiskDep,
    command_call,
)
from risk.api.register_schemas import (
    ID_PATTERN,
    AcceptanceBody,
    ActionBody,
    Category,
    ChangeActionBody,
    ChangeControlBody,
    ChangeDetailsBody,
    ChildWritten,
    ControlBody,
    IdentifyRiskBody,
    LevelName,
    NoteBody,
    ReasonBody,
    ReassessBody,
    RiskHistory,
    RiskPage,
    RiskView,
    TreatmentBody,
    Written,
)
from risk.app.register import (
    AddControl,
    ChangeAction,
    ChangeControl,
    ChangeRiskDetails,
    CloseRisk,
    CompleteAction,
    DecideAcceptance,
    IdentifyRisk,
    PlanAction,
    ReassessRisk,
    RecordReview,
    RemoveControl,
    RequestAcceptance,
    SetTreatment,
)
from risk.app.register_queries import MAX_PAGE, RegisterFilter, utc_day
from risk.domain.register import Treatment, child_id

router = APIRouter(prefix="/v1/risks", tags=["risk register"])

RiskId = Annotated[str, Path(pattern=ID_PATTERN)]
ChildId = Annotated[str, Path(pattern=ID_PATTERN)]


def _written(result: CommandResult) -> Written:
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


def _child(result: CommandResult, kind: str) -> ChildWritten:
    return ChildWritten(
        id=result.aggregate_id,
        version=result.version,
        position=result.position,
        child_id=child_id(kind, result.version),
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def identify(
    body: IdentifyRiskBody,
    risk: RiskDep,
    cmd: Annotated[CommandCall, Depends(command_call(RISK_OFFICERS, "identifying a risk"))],
) -> Any:
    """Identify a risk: inherent rating from the matrix, first review date by its level."""
    command = IdentifyRisk(body.details(), body.likelihood, body.impact)
    result = await cmd.run(risk.register.identify_risk, command, location="/v1/risks/{id}")
    return _written(result)


@router.put("/{risk_id}/details", response_model=Written)
async def change_details(
    risk_id: RiskId,
    body: ChangeDetailsBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "changing a risk", if_match=True))
    ],
) -> Any:
    command = ChangeRiskDetails(risk_id, cmd.expected_version, body.details(), body.reason)
    result = await cmd.run(risk.register.change_details, command)
    return _written(result)


@router.post("/{risk_id}/assessments", status_code=status.HTTP_201_CREATED, response_model=Written)
async def reassess(
    risk_id: RiskId,
    body: ReassessBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "reassessing a risk", if_match=True))
    ],
) -> Any:
    """Reassess likelihood and impact; counts as a review, so it moves the review date."""
    command = ReassessRisk(risk_id, cmd.expected_version, body.likelihood, body.impact, body.reason)
    result = await cmd.run(risk.register.reassess, command, location=f"/v1/risks/{risk_id}")
    return _written(result)


@router.post(
    "/{risk_id}/controls", status_code=status.HTTP_201_CREATED, response_model=ChildWritten
)
async def add_control(
    risk_id: RiskId,
    body: ControlBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "adding a control", if_match=True))
    ],
) -> Any:
    """Add a control; the residual rating follows (answers the new ``child_id``)."""
    command = AddControl(
        risk_id,
        cmd.expected_version,
        body.name,
        body.description,
        body.effectiveness,
        body.reduces,
        body.reason,
    )
    result = await cmd.run(risk.register.add_control, command, location=f"/v1/risks/{risk_id}")
    return _child(result, "control")


@router.put("/{risk_id}/controls/{control_id}", response_model=Written)
async def change_control(
    risk_id: RiskId,
    control_id: ChildId,
    body: ChangeControlBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "changing a control", if_match=True))
    ],
) -> Any:
    command = ChangeControl(
        risk_id,
        cmd.expected_version,
        body.name,
        body.description,
        body.effectiveness,
        body.reduces,
        body.reason,
        control_id=control_id,
    )
    result = await cmd.run(risk.register.change_control, command)
    return _written(result)


@router.post("/{risk_id}/controls/{control_id}/removal", response_model=Written)
async def remove_control(
    risk_id: RiskId,
    control_id: ChildId,
    body: ReasonBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "removing a control", if_match=True))
    ],
) -> Any:
    command = RemoveControl(risk_id, cmd.expected_version, control_id, body.reason)
    result = await cmd.run(risk.register.remove_control, command)
    return _written(result)


@router.put("/{risk_id}/treatment", response_model=Written)
async def set_treatment(
    risk_id: RiskId,
    body: TreatmentBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "choosing a treatment", if_match=True))
    ],
) -> Any:
    command = SetTreatment(risk_id, cmd.expected_version, Treatment(body.treatment), body.reason)
    result = await cmd.run(risk.register.set_treatment, command)
    return _written(result)


@router.post("/{risk_id}/actions", status_code=status.HTTP_201_CREATED, response_model=ChildWritten)
async def plan_action(
    risk_id: RiskId,
    body: ActionBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "planning an action", if_match=True))
    ],
) -> Any:
    command = PlanAction(
        risk_id, cmd.expected_version, body.title, body.owner, body.due_date, body.reason
    )
    result = await cmd.run(risk.register.plan_action, command, location=f"/v1/risks/{risk_id}")
    return _child(result, "action")


@router.put("/{risk_id}/actions/{action_id}", response_model=Written)
async def change_action(
    risk_id: RiskId,
    action_id: ChildId,
    body: ChangeActionBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "changing an action", if_match=True))
    ],
) -> Any:
    """Rename, hand over or reschedule an open action (``reason``)."""
    command = ChangeAction(
        risk_id,
        cmd.expected_version,
        body.title,
        body.owner,
        body.due_date,
        body.reason,
        action_id=action_id,
    )
    result = await cmd.run(risk.register.change_action, command)
    return _written(result)


@router.post("/{risk_id}/actions/{action_id}/completion", response_model=Written)
async def complete_action(
    risk_id: RiskId,
    action_id: ChildId,
    body: NoteBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "completing an action", if_match=True))
    ],
) -> Any:
    command = CompleteAction(risk_id, cmd.expected_version, action_id, body.note)
    result = await cmd.run(risk.register.complete_action, command)
    return _written(result)


@router.post("/{risk_id}/reviews", status_code=status.HTTP_201_CREATED, response_model=Written)
async def record_review(
    risk_id: RiskId,
    body: NoteBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "reviewing a risk", if_match=True))
    ],
) -> Any:
    """The risk was reviewed: the next review is due one interval of its level later."""
    command = RecordReview(risk_id, cmd.expected_version, body.note)
    result = await cmd.run(risk.register.record_review, command, location=f"/v1/risks/{risk_id}")
    return _written(result)


@router.post("/{risk_id}/closure", response_model=Written)
async def close(
    risk_id: RiskId,
    body: ReasonBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "closing a risk", if_match=True))
    ],
) -> Any:
    """Close (retire) a risk; a closed risk takes no further changes."""
    command = CloseRisk(risk_id, cmd.expected_version, body.reason)
    result = await cmd.run(risk.register.close_risk, command)
    return _written(result)


@router.post(
    "/{risk_id}/acceptances", status_code=status.HTTP_201_CREATED, response_model=ChildWritten
)
async def request_acceptance(
    risk_id: RiskId,
    body: AcceptanceBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "requesting an acceptance", if_match=True))
    ],
) -> Any:
    """Request that the risk be accepted until a day; a second risk officer decides."""
    command = RequestAcceptance(risk_id, cmd.expected_version, body.reason, body.until)
    result = await cmd.run(
        risk.register.request_acceptance, command, location=f"/v1/risks/{risk_id}"
    )
    return _child(result, "acceptance")


@router.post("/{risk_id}/acceptances/{acceptance_id}/approval", response_model=Written)
async def approve_acceptance(
    risk_id: RiskId,
    acceptance_id: ChildId,
    body: NoteBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "approving an acceptance", if_match=True))
    ],
) -> Any:
    """Approve (four-eyes: never the requester; a back-office risk officer)."""
    command = DecideAcceptance(risk_id, cmd.expected_version, acceptance_id, body.note)
    result = await cmd.run(risk.register.approve_acceptance, command)
    return _written(result)


@router.post("/{risk_id}/acceptances/{acceptance_id}/rejection", response_model=Written)
async def reject_acceptance(
    risk_id: RiskId,
    acceptance_id: ChildId,
    body: ReasonBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "rejecting an acceptance", if_match=True))
    ],
) -> Any:
    """Reject a requested acceptance (any risk officer, the requester too: a withdrawal)."""
    command = DecideAcceptance(risk_id, cmd.expected_version, acceptance_id, body.reason)
    result = await cmd.run(risk.register.reject_acceptance, command)
    return _written(result)


@router.get("", response_model=RiskPage, dependencies=[Consistent])
async def list_risks(
    risk: RiskDep,
    caller: Caller,
    category: Category | None = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    level: Annotated[LevelName | None, Query(description="residual level")] = None,
    inherent_level: LevelName | None = None,
    status: Literal["open", "closed", "all"] = "open",
    overdue: Annotated[
        bool,
        Query(description="only risks whose review or an open action was due before as_of"),
    ] = False,
    as_of: datetime | None = None,
    cursor: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    require_any_role(caller, READERS, "reading the risk register")
    when = as_of or risk.clock()
    where = RegisterFilter(
        category=category,
        owner=owner,
        level=level,
        inherent_level=inherent_level,
        status=None if status == "all" else status,
        overdue_on=utc_day(when) if overdue else None,
    )
    page = await risk.register_queries.risks(where, cursor, limit, when)
    return RiskPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/{risk_id}", response_model=RiskView, dependencies=[Consistent])
async def get_risk(
    risk_id: RiskId, risk: RiskDep, caller: Caller, as_of: datetime | None = None
) -> Any:
    """The risk, flagged overdue as of ``as_of`` (default now)."""
    require_any_role(caller, READERS, "reading a risk")
    return await risk.register_queries.risk(risk_id, as_of or risk.clock())


@router.get("/{risk_id}/history", response_model=RiskHistory)
async def history(risk_id: RiskId, risk: RiskDep, caller: Caller) -> Any:
    """Every event of the risk, from its stream: what changed, who, when and why."""
    require_any_role(caller, READERS, "reading a risk's history")
    return {"risk_id": risk_id, "events": await risk.register_queries.history(risk_id)}

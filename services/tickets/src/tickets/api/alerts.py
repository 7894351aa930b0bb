"""The monitoring endpoint: alerts in, one open incident per host and check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from tickets.api.dependencies import MONITORING, CommandCall, TicketsDep, command_call
from tickets.api.schemas import AlertBody, AlertWritten
from tickets.app.alerts import RecordAlert
from tickets.domain import queue_id_for, source_id_for

router = APIRouter(prefix="/v1/alerts", tags=["monitoring"])


@router.post("", response_model=AlertWritten)
async def post_alert(
    body: AlertBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(MONITORING, "posting monitoring alerts", idempotent=False)),
    ],
) -> Any:
    """A firing alert opens an incident for its host and check, or is added to the open one;
    a recovery alert resolves it. Answers the incident's id (None when a recovery found no
    open incident)."""
    command = RecordAlert(
        host=body.host,
        check=body.check,
        state=body.state,
        summary=body.summary,
        queue_id=queue_id_for(service.settings.default_queue_name),
        severity=body.severity,
        occurred_at=body.occurred_at,
    )
    result = await cmd.run(service.alerts.record_alert, command)
    no_incident = result.aggregate_id == source_id_for(body.host, body.check)
    return AlertWritten(
        ticket_id=None if no_incident else result.aggregate_id,
        version=result.version,
        position=result.position,
    )

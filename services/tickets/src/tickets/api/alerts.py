"""The monitoring endpoint: alerts in, one open incident per host and check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from shared_kernel.identity import require_any_role
from shared_kernel.unit_of_work import UnitOfWork
from shared_kernel.web import command_context

from tickets.api.dependencies import MONITORING, Caller, TicketsDep
from tickets.api.schemas import AlertBody, AlertWritten
from tickets.app.alerts import RecordAlert, record_alert
from tickets.domain import queue_id_for, source_id_for

router = APIRouter(prefix="/v1/alerts", tags=["monitoring"])


@router.post("", response_model=AlertWritten)
async def post_alert(body: AlertBody, request: Request, service: TicketsDep, caller: Caller) -> Any:
    """A firing alert opens an incident for its host and check, or is added to the open one;
    a recovery alert resolves it. Answers the incident's id (None when a recovery found no
    open incident)."""
    require_any_role(caller, MONITORING, "posting monitoring alerts")
    context = command_context(caller, request, body, None)
    command = RecordAlert(
        host=body.host,
        check=body.check,
        state=body.state,
        summary=body.summary,
        queue_id=queue_id_for(service.settings.default_queue_name),
        severity=body.severity,
        occurred_at=body.occurred_at,
    )

    async def handler(alert: RecordAlert, uow: UnitOfWork) -> Any:
        return await record_alert(service.commands, alert, uow)

    result = await service.commands.execute(context, handler, command)
    no_incident = result.aggregate_id == source_id_for(body.host, body.check)
    return AlertWritten(
        ticket_id=None if no_incident else result.aggregate_id,
        version=result.version,
        position=result.position,
    )

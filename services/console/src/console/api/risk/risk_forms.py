"""The risk officer's work on one risk: reassess it, add a control, choose the treatment, plan
an action, record a review, request an acceptance. Each form maps to one register command of
the risk API, sent with the version the officer saw (``If-Match``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import Response

from console.adapters.gateway import ApiRefusal
from console.api.risk.common import RISK_ID, bad_input, shown, version_header, written_at
from console.api.risk.register import risk_page
from console.api.web import CurrentVisit, Visit, redirect

router = APIRouter(prefix="/risk")


@dataclass(frozen=True)
class RiskCommand:
    method: str
    fields: tuple[str, ...]
    numbers: tuple[str, ...] = ()

    def route(self, name: str) -> str:
        return f"{self.method} /risk/v1/risks/{{risk_id}}/{name}"


COMMANDS: dict[str, RiskCommand] = {
    "assessments": RiskCommand(
        "POST", ("likelihood", "impact", "reason"), ("likelihood", "impact")
    ),
    "controls": RiskCommand("POST", ("name", "description", "effectiveness", "reduces", "reason")),
    "treatment": RiskCommand("PUT", ("treatment", "reason")),
    "actions": RiskCommand("POST", ("title", "owner", "due_date", "reason")),
    "reviews": RiskCommand("POST", ("note",)),
    "acceptances": RiskCommand("POST", ("reason", "until")),
}
# The routes each form needs, for the template to show only the forms the operator may use.
FORM_ROUTES = {name: command.route(name) for name, command in COMMANDS.items()}


def command_body(visit: Visit, command: RiskCommand, fields: Mapping[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {key: fields.get(key, "").strip() for key in command.fields}
    for key in command.numbers:
        if not body[key].isdigit():
            raise bad_input(visit, visit.formats._("Choose a rating from 1 to 5."), key)
        body[key] = int(body[key])
    return body


@router.post("/risks/{risk_id}/{name}", response_model=None)
async def run_command(
    risk_id: Annotated[str, Path(pattern=RISK_ID)],
    name: Annotated[str, Path(pattern="^(" + "|".join(COMMANDS) + ")$")],
    visit: CurrentVisit,
) -> Response:
    command = COMMANDS[name]
    visit.require(command.route(name))
    fields = await visit.form()
    typed = {**fields, "form": name}
    try:
        body = command_body(visit, command, fields)
        # Visit has no put(); the one PUT here (treatment) goes through the same gateway call.
        answer = await visit.console.gateway.call(
            command.method,
            f"/risk/v1/risks/{risk_id}/{name}",
            visit.session.token,
            body,
            headers=version_header(fields),
        )
    except ApiRefusal as refusal:
        return await risk_page(visit, risk_id, shown(refusal), typed)
    return redirect(f"/risk/risks/{risk_id}{written_at(answer.body)}", visit)

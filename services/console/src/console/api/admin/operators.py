"""Operators: the list, one operator with their roles, granting and revoking a role,
disabling an operator, registering a new one."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Annotated, Any
from urllib.parse import quote
from uuid import uuid4

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.admin import breaks_segregation, role_groups, version_header

router = APIRouter()

LIST = "GET /admin/v1/operators"
READ = "GET /admin/v1/operators/{username}"
REGISTER = "POST /admin/v1/operators"
GRANT = "POST /admin/v1/operators/{username}/roles"
REVOKE = "DELETE /admin/v1/operators/{username}/roles/{role}"
DISABLE = "POST /admin/v1/operators/{username}/disable"
PAGE_SIZE = 50


def operator_path(username: str) -> str:
    return f"/admin/v1/operators/{quote(username, safe='')}"


@router.get("/admin", response_class=HTMLResponse)
async def operators_list(
    visit: CurrentVisit, cursor: Annotated[str | None, Query(max_length=63)] = None
) -> HTMLResponse:
    visit.require(LIST)
    page = await visit.get("/admin/v1/operators", {"limit": PAGE_SIZE, "cursor": cursor})
    return visit.render(
        "admin/operators.html", operators=page["items"], next_cursor=page.get("next_cursor")
    )


@router.get("/admin/operators/new", response_class=HTMLResponse)
async def register_form(visit: CurrentVisit) -> HTMLResponse:
    visit.require(REGISTER)
    return _register_page(visit, {}, [])


@router.post("/admin/operators", response_class=HTMLResponse)
async def register(visit: CurrentVisit) -> Response:
    visit.require(REGISTER)
    form = await visit.form_lists()
    typed = {name: _first(form, name).strip() for name in ("username", "display_name")}
    roles = [role for role in form.get("roles", []) if role]
    password = _first(form, "password")
    _ = visit.formats._
    wanted = ((_("Username"), typed["username"]), (_("Display name"), typed["display_name"]))
    missing = [label for label, value in wanted if not value]
    missing += [_("Password")] if not password else []
    missing += [_("Roles")] if not roles else []
    if missing:
        problem = _problem(422, _("Missing input"), _("Please fill in:") + " " + ", ".join(missing))
        return _register_page(visit, typed, roles, problem, form_key=_key_of(form))
    body = {**typed, "roles": roles, "password": password}
    key = _key_of(form) or str(uuid4())
    try:
        await visit.post("/admin/v1/operators", body, headers={"Idempotency-Key": key})
    except ApiRefusal as refusal:
        if refusal.status >= 500 or refusal.status in (401, 403):
            raise
        return _register_page(visit, typed, roles, refusal, form_key=_key_of(form))
    return redirect(f"/admin/operators/{quote(typed['username'], safe='')}", visit)


@router.get("/admin/operators/{username}", response_class=HTMLResponse)
async def operator_detail(username: str, visit: CurrentVisit) -> HTMLResponse:
    visit.require(READ)
    return await _detail_page(visit, username)


@router.post("/admin/operators/{username}/roles", response_class=HTMLResponse)
async def grant_role(username: str, visit: CurrentVisit) -> Response:
    visit.require(GRANT)
    form = await visit.form()
    role = form.get("role", "").strip()
    if not role:
        problem = _problem(
            422, visit.formats._("Missing input"), visit.formats._("Please choose a role.")
        )
        return await _detail_page(visit, username, problem)
    return await _change(
        visit,
        username,
        visit.post(
            f"{operator_path(username)}/roles", {"role": role}, version_header(form.get("version"))
        ),
        chosen_role=role,
    )


@router.post("/admin/operators/{username}/roles/{role}/revoke", response_class=HTMLResponse)
async def revoke_role(username: str, role: str, visit: CurrentVisit) -> Response:
    visit.require(REVOKE)
    form = await visit.form()
    path = f"{operator_path(username)}/roles/{quote(role, safe='')}"
    return await _change(visit, username, visit.delete(path, version_header(form.get("version"))))


@router.post("/admin/operators/{username}/disable", response_class=HTMLResponse)
async def disable(username: str, visit: CurrentVisit) -> Response:
    visit.require(DISABLE)
    form = await visit.form()
    path = f"{operator_path(username)}/disable"
    return await _change(
        visit, username, visit.post(path, None, version_header(form.get("version")))
    )


async def _change(
    visit: Visit, username: str, call: Awaitable[Any], chosen_role: str = ""
) -> Response:
    """Run one change of an operator; back to the operator on success, the operator's page
    with the API's refusal (and its status) otherwise."""
    try:
        await call
    except ApiRefusal as refusal:
        if refusal.status >= 500 or refusal.status == 401:
            raise
        return await _detail_page(visit, username, refusal, chosen_role)
    return redirect(f"/admin/operators/{quote(username, safe='')}", visit)


async def _detail_page(
    visit: Visit, username: str, error: ApiRefusal | None = None, chosen_role: str = ""
) -> HTMLResponse:
    operator = await visit.get(operator_path(username))
    return visit.render(
        "admin/operator.html",
        status_code=error.status if error else 200,
        person=operator,
        groups=role_groups(),
        error=error,
        segregation=bool(error and breaks_segregation(error.code)),
        chosen_role=chosen_role,
        own=operator["username"] == visit.operator.subject,
    )


def _register_page(
    visit: Visit,
    typed: dict[str, str],
    roles: list[str],
    error: ApiRefusal | None = None,
    form_key: str = "",
) -> HTMLResponse:
    return visit.render(
        "admin/register_operator.html",
        status_code=error.status if error else 200,
        typed=typed,
        chosen=set(roles),
        groups=role_groups(),
        error=error,
        segregation=bool(error and breaks_segregation(error.code)),
        # One key per filled-in form: sending it twice registers once.
        form_key=form_key or str(uuid4()),
    )


def _first(form: Mapping[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _key_of(form: Mapping[str, list[str]]) -> str:
    return _first(form, "idempotency_key")


def _problem(status: int, title: str, detail: str) -> ApiRefusal:
    return ApiRefusal(status, title, detail, code="InvalidInput")

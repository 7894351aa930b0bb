"""Systems (callers with an API key instead of a password) and their API keys: the list,
registering a system, a system's keys, issuing one (its text shown once), revoking one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import quote
from uuid import uuid4

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse, Response

from console.adapters.gateway import ApiRefusal
from console.api.web import CurrentVisit, Visit, redirect
from console.domain.admin import breaks_segregation, role_groups

router = APIRouter()

LIST = "GET /admin/v1/systems"
REGISTER = "POST /admin/v1/systems"
KEYS = "GET /admin/v1/systems/{system}/api-keys"
ISSUE = "POST /admin/v1/systems/{system}/api-keys"
REVOKE = "DELETE /admin/v1/systems/{system}/api-keys/{key_id}"
PAGE_SIZE = 50


def keys_path(system: str) -> str:
    return f"/admin/v1/systems/{quote(system, safe='')}/api-keys"


@router.get("/admin/systems", response_class=HTMLResponse)
async def systems_list(
    visit: CurrentVisit, cursor: Annotated[str | None, Query(max_length=63)] = None
) -> HTMLResponse:
    visit.require(LIST)
    return await _systems_page(visit, cursor)


@router.post("/admin/systems", response_class=HTMLResponse)
async def register_system(visit: CurrentVisit) -> Response:
    visit.require(REGISTER)
    form = await visit.form_lists()
    typed = {name: _first(form, name).strip() for name in ("name", "display_name")}
    roles = [role for role in form.get("roles", []) if role]
    _ = visit.formats._
    wanted = ((_("Name"), typed["name"]), (_("Display name"), typed["display_name"]))
    missing = [label for label, value in wanted if not value]
    missing += [_("Roles")] if not roles else []
    key = _first(form, "idempotency_key") or str(uuid4())
    if missing:
        problem = ApiRefusal(
            422, _("Missing input"), _("Please fill in:") + " " + ", ".join(missing), "InvalidInput"
        )
        return await _systems_page(visit, None, problem, typed, roles, key)
    try:
        await visit.post(
            "/admin/v1/systems", {**typed, "roles": roles}, headers={"Idempotency-Key": key}
        )
    except ApiRefusal as refusal:
        if refusal.status >= 500 or refusal.status in (401, 403):
            raise
        return await _systems_page(visit, None, refusal, typed, roles, key)
    return redirect(f"/admin/systems/{quote(typed['name'], safe='')}", visit)


@router.get("/admin/systems/{system}", response_class=HTMLResponse)
async def api_keys(system: str, visit: CurrentVisit) -> HTMLResponse:
    visit.require(KEYS)
    return await _keys_page(visit, system)


@router.post("/admin/systems/{system}/api-keys", response_class=HTMLResponse)
async def issue_api_key(system: str, visit: CurrentVisit) -> Response:
    """Issue a key and show its text on this answer only: the gateway keeps a hash, and the
    form's Idempotency-Key makes a resubmitted form a refusal, not a second key."""
    visit.require(ISSUE)
    form = await visit.form()
    key = form.get("idempotency_key") or str(uuid4())
    try:
        issued = await visit.post(keys_path(system), None, headers={"Idempotency-Key": key})
    except ApiRefusal as refusal:
        if refusal.status >= 500 or refusal.status == 401:
            raise
        return await _keys_page(visit, system, refusal)
    response = visit.render("admin/key_issued.html", system=system, issued=issued)
    # The key's text must not stay in a cache or come back with the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/systems/{system}/api-keys/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_api_key(system: str, key_id: str, visit: CurrentVisit) -> Response:
    visit.require(REVOKE)
    await visit.form()
    try:
        await visit.delete(f"{keys_path(system)}/{quote(key_id, safe='')}")
    except ApiRefusal as refusal:
        if refusal.status >= 500 or refusal.status == 401:
            raise
        return await _keys_page(visit, system, refusal)
    return redirect(f"/admin/systems/{quote(system, safe='')}", visit)


async def _systems_page(
    visit: Visit,
    cursor: str | None,
    error: ApiRefusal | None = None,
    typed: Mapping[str, str] | None = None,
    roles: list[str] | None = None,
    form_key: str = "",
) -> HTMLResponse:
    page = await visit.get("/admin/v1/systems", {"limit": PAGE_SIZE, "cursor": cursor})
    return visit.render(
        "admin/systems.html",
        status_code=error.status if error else 200,
        systems=page["items"],
        next_cursor=page.get("next_cursor"),
        groups=role_groups(),
        typed=typed or {},
        chosen=set(roles or []),
        error=error,
        segregation=bool(error and breaks_segregation(error.code)),
        form_key=form_key or str(uuid4()),
    )


async def _keys_page(visit: Visit, system: str, error: ApiRefusal | None = None) -> HTMLResponse:
    keys = await visit.get(keys_path(system))
    return visit.render(
        "admin/system.html",
        status_code=error.status if error else 200,
        system=system,
        keys=keys["items"],
        error=error,
        form_key=str(uuid4()),
    )


def _first(form: Mapping[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]

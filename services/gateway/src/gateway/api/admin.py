"""``/admin/v1``: operators, their roles, systems and API keys; for the ``admin`` role only.

Every change is a command that records an event; creating requests accept ``Idempotency-Key``,
changes of an operator accept ``If-Match`` with the version from its ``ETag``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from shared_kernel.errors import DomainError
from shared_kernel.unit_of_work import CommandResult
from shared_kernel.web import IdempotencyKeyHeader, command_context

from gateway.adapters.audit import current_decision
from gateway.api.bodies import RequestBody
from gateway.api.deps import AdminIdentity, GatewayDep
from gateway.app.admin import MAX_PAGE
from gateway.app.api_keys import IssueApiKey, RegisterSystem, RevokeApiKey
from gateway.app.operators import DisableOperator, GrantRole, RegisterOperator, RevokeRole
from gateway.domain.passwords import MAX_PASSWORD_LENGTH

router = APIRouter(
    prefix="/admin/v1",
    tags=["admin"],
    responses={
        401: {"description": "No valid credentials"},
        403: {"description": "The caller does not hold the admin role"},
    },
)

Name = Annotated[str, Path(min_length=1, max_length=63)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=63)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
RoleName = Annotated[str, Field(min_length=1, max_length=63)]
Roles = Annotated[list[RoleName], Field(min_length=1, max_length=16)]


class RegisterOperatorBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=63)
    display_name: str = Field(min_length=1, max_length=200)
    roles: Roles
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class GrantRoleBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


class RegisterSystemBody(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    display_name: str = Field(min_length=1, max_length=200)
    roles: Roles


class Written(BaseModel):
    id: str = Field(description="The operator's username or the system's name")
    version: int
    position: int = Field(description="Position of the change's last event")


class OperatorItem(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    office: str
    enabled: bool
    version: int


class OperatorPage(BaseModel):
    items: list[OperatorItem]
    next_cursor: str | None


class SystemItem(BaseModel):
    name: str
    display_name: str
    roles: list[str]
    office: str
    active_keys: int
    version: int


class SystemPage(BaseModel):
    items: list[SystemItem]
    next_cursor: str | None


class ApiKeyItem(BaseModel):
    key_id: str
    issued_at: datetime
    revoked_at: datetime | None
    active: bool


class ApiKeyList(BaseModel):
    items: list[ApiKeyItem]


class IssuedApiKeyView(BaseModel):
    system: str
    key_id: str
    api_key: str = Field(description="Shown this once; the gateway keeps only a hash")
    issued_at: datetime
    version: int
    position: int


def expected_version(if_match: str | None) -> int | None:
    """The version in an ``If-Match`` header (``"3"``, ``W/"3"`` or ``3``), or None."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise DomainError(
            'If-Match must be the version from the ETag, such as "3"',
            field="If-Match",
            code="InvalidIfMatch",
        )
    return int(text)


def written(result: CommandResult, reason: str, target: str) -> Written:
    current_decision().allow("IdempotentReplay" if result.replayed else reason, target=target)
    name = result.aggregate_id.partition(":")[2]
    return Written(id=name, version=result.version, position=result.position)


@router.post("/operators", status_code=status.HTTP_201_CREATED)
async def register_operator(
    body: RegisterOperatorBody,
    request: Request,
    response: Response,
    admin: AdminIdentity,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Written:
    # The password stays out of the idempotency fingerprint, which is stored.
    fingerprint = body.model_dump(exclude={"password"})
    context = command_context(admin, request, fingerprint, idempotency_key)
    command = RegisterOperator(
        body.username, body.display_name, frozenset(body.roles), body.password
    )
    result = await gateway.admin.register_operator(context, command)
    response.headers["Location"] = f"/admin/v1/operators/{body.username}"
    return written(result, "OperatorRegistered", f"operator:{body.username}")


@router.get("/operators")
async def list_operators(
    _: AdminIdentity, gateway: GatewayDep, cursor: Cursor = None, limit: Limit = 50
) -> OperatorPage:
    page = await gateway.admin.operators(cursor, limit)
    return OperatorPage(
        items=[OperatorItem.model_validate(item, from_attributes=True) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/operators/{username}")
async def get_operator(
    username: Name, response: Response, _: AdminIdentity, gateway: GatewayDep
) -> OperatorItem:
    operator = await gateway.admin.operator(username)
    response.headers["ETag"] = f'"{operator.version}"'
    return OperatorItem.model_validate(operator, from_attributes=True)


@router.post("/operators/{username}/roles")
async def grant_role(
    username: Name,
    body: GrantRoleBody,
    request: Request,
    admin: AdminIdentity,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> Written:
    context = command_context(admin, request, body, None)
    command = GrantRole(username, body.role, expected_version(if_match))
    result = await gateway.admin.grant_role(context, command)
    return written(result, "OperatorRoleGranted", f"operator:{username} role:{body.role}")


@router.delete("/operators/{username}/roles/{role}")
async def revoke_role(
    username: Name,
    role: Name,
    request: Request,
    admin: AdminIdentity,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> Written:
    context = command_context(admin, request, None, None)
    result = await gateway.admin.revoke_role(
        context, RevokeRole(username, role, expected_version(if_match))
    )
    return written(result, "OperatorRoleRevoked", f"operator:{username} role:{role}")


@router.post("/operators/{username}/disable")
async def disable_operator(
    username: Name,
    request: Request,
    admin: AdminIdentity,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> Written:
    context = command_context(admin, request, None, None)
    result = await gateway.admin.disable_operator(
        context, DisableOperator(username, expected_version(if_match))
    )
    return written(result, "OperatorDisabled", f"operator:{username}")


@router.post("/systems", status_code=status.HTTP_201_CREATED)
async def register_system(
    body: RegisterSystemBody,
    request: Request,
    response: Response,
    admin: AdminIdentity,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Written:
    context = command_context(admin, request, body, idempotency_key)
    command = RegisterSystem(body.name, body.display_name, frozenset(body.roles))
    result = await gateway.admin.register_system(context, command)
    response.headers["Location"] = f"/admin/v1/systems/{body.name}/api-keys"
    return written(result, "SystemRegistered", f"system:{body.name}")


@router.get("/systems")
async def list_systems(
    _: AdminIdentity, gateway: GatewayDep, cursor: Cursor = None, limit: Limit = 50
) -> SystemPage:
    page = await gateway.admin.systems(cursor, limit)
    return SystemPage(
        items=[SystemItem.model_validate(item, from_attributes=True) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/systems/{system}/api-keys",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Too many active keys, or an Idempotency-Key used again"}},
)
async def issue_api_key(
    system: Name,
    request: Request,
    response: Response,
    admin: AdminIdentity,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> IssuedApiKeyView:
    context = command_context(admin, request, None, idempotency_key)
    issued = await gateway.admin.issue_api_key(context, IssueApiKey(system))
    current_decision().allow("ApiKeyIssued", target=f"system:{system} key:{issued.key.key_id}")
    response.headers["Cache-Control"] = "no-store"
    return IssuedApiKeyView(
        system=system,
        key_id=issued.key.key_id,
        api_key=issued.key.text,
        issued_at=issued.issued_at,
        version=issued.result.version,
        position=issued.result.position,
    )


@router.get("/systems/{system}/api-keys")
async def list_api_keys(system: Name, _: AdminIdentity, gateway: GatewayDep) -> ApiKeyList:
    keys = await gateway.admin.api_keys(system)
    return ApiKeyList(
        items=[
            ApiKeyItem(
                key_id=k.key_id,
                issued_at=k.issued_at,
                revoked_at=k.revoked_at,
                active=k.revoked_at is None,
            )
            for k in keys
        ]
    )


@router.delete("/systems/{system}/api-keys/{key_id}")
async def revoke_api_key(
    system: Name,
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    admin: AdminIdentity,
    gateway: GatewayDep,
) -> Written:
    context = command_context(admin, request, None, None)
    result = await gateway.admin.revoke_api_key(context, RevokeApiKey(system, key_id))
    return written(result, "ApiKeyRevoked", f"system:{system} key:{key_id}")

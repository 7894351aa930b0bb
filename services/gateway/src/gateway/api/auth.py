"""Log-in and the caller's own identity."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import CallerIdentity, GatewayDep, RequestId
from gateway.app.operators import LogIn
from gateway.domain.passwords import MAX_PASSWORD_LENGTH

router = APIRouter(prefix="/auth", tags=["auth"])


class LogInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class CallerView(BaseModel):
    subject: str
    roles: list[str]
    office: str
    kind: str


@router.post("/login", responses={401: {"description": "Unknown username or wrong password"}})
async def log_in(
    body: LogInRequest, gateway: GatewayDep, request_id: RequestId, response: Response
) -> AccessToken:
    identity = await gateway.log_in(LogIn(body.username, body.password, request_id))
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: tokens are not cached
    return AccessToken(
        access_token=gateway.issue_access_token(identity),
        expires_in=gateway.settings.access_token_ttl_seconds,
    )


@router.get("/me")
async def me(identity: CallerIdentity) -> CallerView:
    return CallerView(
        subject=identity.subject,
        roles=sorted(identity.roles),
        office=identity.office,
        kind=identity.kind,
    )

"""Log-in and the caller's own identity."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field

from gateway.adapters.audit import current_decision
from gateway.adapters.rate_limit import LoginLockedOut
from gateway.api.bodies import RequestBody
from gateway.api.client_address import client_address_of
from gateway.api.deps import CallerIdentity, GatewayDep, RequestId
from gateway.app.operators import InvalidCredentials, LogIn, OperatorDisabled
from gateway.domain.own_routes import OwnRoute
from gateway.domain.passwords import MAX_PASSWORD_LENGTH
from gateway.domain.permissions import permissions
from gateway.domain.roles import IdentityBreaksSegregation
from gateway.domain.routes import OPENAPI_METHODS

router = APIRouter(prefix="/auth", tags=["auth"])
log = logging.getLogger(__name__)


class LogInRequest(RequestBody):
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
    permissions: list[str] = Field(
        description="Every route the caller's roles open, as 'METHOD /path' with the path "
        "template a client calls (e.g. 'POST /ledger/v1/booking-requests/{request_id}/approval'"
        ", 'GET /audit/v1/decisions'); log-in and this route are open to everyone and not "
        "listed. A service may still refuse a request on its own rules (four-eyes)."
    )


@router.post(
    "/login",
    responses={
        401: {"description": "Unknown username, wrong password or a disabled operator"},
        403: {
            "description": "The operator's roles break segregation of duties (code "
            "SegregationOfDuties) until an administrator revokes one"
        },
        429: {"description": "Too many attempts for this username from this address, or from it"},
    },
)
async def log_in(
    body: LogInRequest,
    gateway: GatewayDep,
    request_id: RequestId,
    request: Request,
    response: Response,
) -> AccessToken:
    decision = current_decision()
    decision.claimed(body.username)
    client = client_address_of(request.scope).client
    try:
        # Before the password is looked at: a flood must not cost a hash per attempt.
        await gateway.limits.check_login(body.username, client)
    except LoginLockedOut as locked:
        decision.deny(locked.limit)
        log.warning("log-in of %s from %s locked out: %s", body.username, client, locked.limit)
        raise
    try:
        identity = await gateway.log_in(LogIn(body.username, body.password, request_id))
    except InvalidCredentials as refused:
        reason = (
            "OperatorDisabled" if isinstance(refused, OperatorDisabled) else "InvalidCredentials"
        )
        decision.deny(reason)
        log.info("log-in of %s refused: %s", body.username, reason)
        raise
    except IdentityBreaksSegregation as refused:
        decision.deny(refused.code)
        log.warning("log-in refused: %s", refused.detail)
        raise
    decision.caller(identity)
    decision.allow("LoggedIn")
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: tokens are not cached
    return AccessToken(
        access_token=gateway.issue_access_token(identity),
        expires_in=gateway.settings.access_token_ttl_seconds,
    )


@router.get("/me")
async def me(identity: CallerIdentity, gateway: GatewayDep, request: Request) -> CallerView:
    """Who the credentials say the caller is, and what it may use."""
    return CallerView(
        subject=identity.subject,
        roles=sorted(identity.roles),
        office=identity.office,
        kind=identity.kind,
        permissions=permissions(
            gateway.policy,
            gateway.settings.services,
            own_routes(request.app),
            identity.roles,
            person=identity.is_person,
        ),
    )


def own_routes(app: FastAPI) -> list[OwnRoute]:
    """The gateway's own operations as its API document describes them (FastAPI builds it
    once; the proxy's catch-all and the undocumented pages are not in it)."""
    return [
        OwnRoute(method.upper(), path)
        for path, item in app.openapi().get("paths", {}).items()
        for method in OPENAPI_METHODS
        if method in item
    ]

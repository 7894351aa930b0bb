"""FastAPI dependencies: the composed gateway, the caller's verified identity, the request id."""

from __future__ import annotations

from typing import Annotated, cast

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from shared_kernel.identity import Identity, InvalidIdentity

from gateway.api.errors import BearerRejected
from gateway.bootstrap import Gateway

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login")


def get_gateway(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


def request_id(request: Request) -> str:
    return cast(str, request.state.request_id)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
RequestId = Annotated[str, Depends(request_id)]


def caller_identity(
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    if credentials is None:
        raise BearerRejected("log in first and send 'Authorization: Bearer <access token>'")
    try:
        return gateway.verify_access_token(credentials.credentials)
    except InvalidIdentity as exc:
        expired = isinstance(exc.__cause__, jwt.ExpiredSignatureError)
        detail = "the access token has expired" if expired else "the access token is not valid"
        raise BearerRejected(f"{detail}; log in again", error="invalid_token") from exc


CallerIdentity = Annotated[Identity, Depends(caller_identity)]

"""FastAPI dependencies: the composed gateway, the caller's identity, the request id.

A caller proves who it is with one credential: an operator's access token
(``Authorization: Bearer <token>``) or a system's API key (``Authorization: ApiKey <key>`` or
``X-API-Key: <key>``). Either way the identity is confirmed against the current state (a
disabled operator or a revoked key is refused), then counted against the caller's rate limit.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, NoReturn, cast

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from shared_kernel.identity import Caller, IdentityExpired, InvalidIdentity
from shared_kernel.logs import bind_actor
from shared_kernel.web import Unauthenticated

from gateway.adapters.audit import current_decision
from gateway.api.errors import BearerRejected
from gateway.app.callers import CallerRejected
from gateway.bootstrap import Gateway
from gateway.domain.own_routes import ADMINISTRATION, AUDIT
from gateway.domain.roles import IdentityBreaksSegregation

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="The access token from POST /auth/login")
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A system's API key; 'Authorization: ApiKey <key>' is accepted as well",
)
API_KEY_CHALLENGE = 'ApiKey realm="backoffice"'


async def get_gateway(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


async def request_id(request: Request) -> str:
    return cast(str, request.state.request_id)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
RequestId = Annotated[str, Depends(request_id)]


async def caller_identity(
    request: Request,
    gateway: GatewayDep,
    rid: RequestId,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    return await identify(request, gateway, rid, bearer, x_api_key)


async def caller_of(request: Request) -> Caller:
    """``caller_identity`` for the proxy, the gateway's busiest route, without FastAPI's
    sub-dependencies (solving them cost more per request than the rest of this): the same
    credentials read by the same parsers, the same checks in the same order."""
    gateway = cast(Gateway, request.app.state.gateway)
    rid = cast(str, request.state.request_id)
    return await identify(request, gateway, rid, await _bearer(request), await _api_key(request))


async def identify(
    request: Request,
    gateway: Gateway,
    rid: str,
    bearer: HTTPAuthorizationCredentials | None,
    x_api_key: str | None,
) -> Caller:
    """The caller proven by the request's one credential, confirmed and counted against its
    rate limit; 401 (403 for broken segregation of duties, 429 over the limit) otherwise."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    keys = [
        key for key in (value.strip() if scheme.lower() == "apikey" else None, x_api_key) if key
    ]
    decision = current_decision()
    if len(keys) + (bearer is not None) > 1:
        decision.deny("AmbiguousCredentials")
        raise Unauthenticated(
            "send one credential: an access token or an API key, not several",
            headers={"WWW-Authenticate": API_KEY_CHALLENGE},
        )
    if keys:
        identity = await _system(gateway, keys[0], rid)
    elif bearer is not None:
        identity = await _operator(gateway, bearer.credentials)
    else:
        decision.deny("NoCredentials")
        raise BearerRejected("log in first and send 'Authorization: Bearer <access token>'")
    decision.caller(identity)
    bind_actor(identity.subject, identity.office)
    await gateway.limits.check_identity(identity.kind, identity.subject)
    return replace(identity, request_id=rid)


async def _operator(gateway: Gateway, token: str) -> Caller:
    decision = current_decision()
    try:
        identity = gateway.verify_access_token(token)
    except IdentityExpired as exc:
        decision.deny("TokenExpired")
        raise BearerRejected("the access token has expired; log in again", "invalid_token") from exc
    except InvalidIdentity as exc:
        decision.deny("TokenInvalid")
        raise BearerRejected(
            "the access token is not valid; log in again", "invalid_token"
        ) from exc
    decision.claimed(identity.subject, identity.kind)
    try:
        return await gateway.callers.confirm(identity)
    except CallerRejected as exc:
        decision.deny(exc.reason)
        log.info("refused the token of %s: %s", identity.subject, exc.reason)
        raise BearerRejected(exc.detail, "invalid_token") from exc
    except IdentityBreaksSegregation as exc:
        _refuse_unsegregated(exc)


async def _system(gateway: Gateway, key: str, rid: str) -> Caller:
    try:
        return await gateway.callers.authenticate_key(key, rid)
    except IdentityBreaksSegregation as exc:
        _refuse_unsegregated(exc)
    except CallerRejected as exc:
        decision = current_decision()
        decision.deny(exc.reason)
        if exc.claimed:
            decision.claimed(exc.claimed, "system")
        log.info("refused an API key of %s: %s", exc.claimed or "nobody known", exc.reason)
        raise Unauthenticated(
            exc.detail, headers={"WWW-Authenticate": f'{API_KEY_CHALLENGE}, error="invalid_key"'}
        ) from exc


def _refuse_unsegregated(exc: IdentityBreaksSegregation) -> NoReturn:
    """403 for a caller whose stored roles break segregation of duties (until an admin fixes
    them); the refusal is logged as a warning, since it needs an administrator."""
    decision = current_decision()
    decision.claimed(exc.name, "system" if exc.kind == "system" else "user")
    decision.deny(exc.code)
    log.warning("refused a caller: %s", exc.detail)
    raise exc


CallerIdentity = Annotated[Caller, Depends(caller_identity)]


async def admin_identity(identity: CallerIdentity) -> Caller:
    """The caller, when it holds the admin role; 403 otherwise."""
    ADMINISTRATION.authorize(identity.roles)
    return identity


async def auditor_identity(identity: CallerIdentity) -> Caller:
    """The caller, when it may search the audit trail (auditor or admin); 403 otherwise."""
    AUDIT.authorize(identity.roles)
    return identity


AdminIdentity = Annotated[Caller, Depends(admin_identity)]
AuditorIdentity = Annotated[Caller, Depends(auditor_identity)]

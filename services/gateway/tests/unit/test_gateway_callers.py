"""Callers are confirmed against state at most a second old: a disabled operator, a revoked
role or a revoked key stops working within that second, and at once in the process that made
the change. The database is replaced by dictionaries (a subclass of the real port)."""

import asyncio
from datetime import UTC, datetime

import pytest
from gateway.adapters.api_keys import new_api_key
from gateway.app.callers import CallerRejected
from gateway.domain.api_keys import System
from gateway.domain.operator import Operator
from shared_kernel.identity import Caller

from .conftest import Clock, InMemoryCallers

pytestmark = pytest.mark.unit


def token_of(subject: str, *roles: str) -> Caller:
    return Caller(subject, frozenset(roles), "back", "login-request")


async def test_an_operator_acts_with_the_roles_held_now_not_those_in_the_token(
    callers: InMemoryCallers,
) -> None:
    callers.add_operator("ada", "accountant")

    confirmed = await callers.confirm(token_of("ada", "accountant", "controller"))

    assert confirmed.roles == {"accountant"} and confirmed.office == "back"
    assert confirmed.request_id == "login-request"


async def test_a_disabled_operator_is_refused_within_a_second(
    callers: InMemoryCallers, clock: Clock
) -> None:
    callers.add_operator("ada", "accountant")
    await callers.confirm(token_of("ada"))
    # Another gateway process disables ada: the stored state changes, not our cached copy.
    disabled = Operator.register("ada", "Ada", frozenset({"accountant"}))
    disabled.disable(by="admin")
    disabled.mark_saved()
    callers.streams[disabled.id] = disabled

    clock.now += 0.5
    await callers.confirm(token_of("ada"))  # still cached: at most a second old
    clock.now += 0.6
    with pytest.raises(CallerRejected) as refused:
        await callers.confirm(token_of("ada"))
    assert refused.value.reason == "OperatorDisabled"


async def test_forgetting_applies_a_local_change_to_the_very_next_request(
    callers: InMemoryCallers,
) -> None:
    callers.add_operator("ada", "accountant")
    await callers.confirm(token_of("ada"))
    del callers.streams["operator:ada"]

    callers.forget()

    with pytest.raises(CallerRejected) as refused:
        await callers.confirm(token_of("ada"))
    assert refused.value.reason == "OperatorUnknown"


async def test_concurrent_requests_of_one_caller_share_one_load(
    callers: InMemoryCallers,
) -> None:
    callers.add_operator("ada", "accountant")

    await asyncio.gather(*(callers.confirm(token_of("ada")) for _ in range(20)))

    assert callers.loads == 1


async def test_an_api_key_is_a_system_identity_until_it_is_revoked(
    callers: InMemoryCallers, clock: Clock
) -> None:
    _, key = callers.add_system("trading-system", "trader")

    identity = await callers.authenticate_key(key.text, "request-1")

    assert (identity.subject, identity.kind, identity.office) == (
        "trading-system",
        "system",
        "front",
    )
    assert identity.roles == {"trader"} and identity.request_id == "request-1"
    revoked = System.register("trading-system", "Trading", frozenset({"trader"}))
    revoked.issue_key(key.key_id, datetime.now(UTC))
    revoked.revoke_key(key.key_id, datetime.now(UTC))
    revoked.mark_saved()
    callers.streams[revoked.id] = revoked  # revoked by another gateway process
    clock.now += 1.0
    with pytest.raises(CallerRejected) as refused:
        await callers.authenticate_key(key.text, "request-2")
    assert refused.value.reason == "ApiKeyRevoked"


@pytest.mark.parametrize("damage", ["wrong secret", "unknown id", "malformed"])
async def test_a_wrong_or_unknown_key_is_refused(callers: InMemoryCallers, damage: str) -> None:
    _, key = callers.add_system("trading-system", "trader")
    text = {
        "wrong secret": key.text[:-2] + ("zz" if not key.text.endswith("zz") else "yy"),
        "unknown id": new_api_key().text,
        "malformed": "not-a-key",
    }[damage]

    with pytest.raises(CallerRejected):
        await callers.authenticate_key(text, "request-1")


async def test_a_bearer_token_of_a_system_is_refused(callers: InMemoryCallers) -> None:
    with pytest.raises(CallerRejected):
        await callers.confirm(
            Caller("trading-system", frozenset({"trader"}), "front", "r", "system")
        )

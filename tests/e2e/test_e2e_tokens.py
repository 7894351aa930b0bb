"""Tokens that must not open anything, against the running gateway and the ledger behind it.

Each bad token differs from a good one in one respect only; the good one, built the same way,
is let in (so a refusal is for that one defect, not for how the test builds tokens). Direct
calls to the ledger without an identity, and with an ``alg: none`` one, are in the walking
skeleton; here are the other ways a forged identity could be made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shared_kernel.identity import IDENTITY_HEADER, ISSUER, key_id_of

from .conftest import System, login

pytestmark = pytest.mark.e2e

Claims = dict[str, Any]
Forge = Callable[["Keys", Claims], str]


class Keys:
    def __init__(self, identity_keys: tuple[Path, Path]) -> None:
        private, public = identity_keys
        self.private: Any = serialization.load_pem_private_key(private.read_bytes(), password=None)
        self.public_pem = public.read_bytes()
        self.kid = key_id_of(self.public_pem)

    def sign(self, claims: Claims, *, key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(
            claims, key or self.private, algorithm="EdDSA", headers={"kid": kid or self.kid}
        )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def good(keys: Keys, claims: Claims) -> str:
    return keys.sign(claims)


def forged_signature(keys: Keys, claims: Claims) -> str:
    """Signed by another key under the gateway's key id."""
    return keys.sign(claims, key=Ed25519PrivateKey.generate())


def expired(keys: Keys, claims: Claims) -> str:
    return keys.sign({**claims, "iat": int(time.time()) - 120, "exp": int(time.time()) - 60})


def alg_none(keys: Keys, claims: Claims) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': keys.kid})}.{_b64(claims)}."


def hmac_with_the_public_key(keys: Keys, claims: Claims) -> str:
    """The algorithm-confusion attack: HS256 keyed with the (public) verification key."""
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.kid})
    signing_input = f"{header}.{_b64(claims)}"
    mac = hmac.new(keys.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def wrong_issuer(keys: Keys, claims: Claims) -> str:
    return keys.sign({**claims, "iss": "someone-else"})


def unknown_key_id(keys: Keys, claims: Claims) -> str:
    return keys.sign(claims, kid="0123456789abcdef")


def wrong_audience(keys: Keys, claims: Claims) -> str:
    other = "ledger" if claims["aud"] == "gateway" else "gateway"
    return keys.sign({**claims, "aud": other})


def without_expiry(keys: Keys, claims: Claims) -> str:
    return keys.sign({k: v for k, v in claims.items() if k != "exp"})


FORGERIES: list[Forge] = [
    forged_signature,
    expired,
    alg_none,
    hmac_with_the_public_key,
    wrong_issuer,
    unknown_key_id,
    wrong_audience,
    without_expiry,
]


def claims_for(audience: str, subject: str, roles: list[str], office: str) -> Claims:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "roles": roles,
        "office": office,
        "rid": "e2e-token-test",
        "kind": "user",
        "iat": now,
        "exp": now + 300,
    }


@pytest.fixture(scope="module")
def keys(identity_keys: tuple[Path, Path]) -> Keys:
    return Keys(identity_keys)


@pytest.fixture(scope="module")
async def accountant_claims(module_system: System) -> Claims:
    """The claims of a real log-in of the demo accountant, to forge variants of."""
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        auth = await login(gateway, "accountant")
    claims: Claims = jwt.decode(
        auth["Authorization"].removeprefix("Bearer "), options={"verify_signature": False}
    )
    return claims_for("gateway", claims["sub"], claims["roles"], claims["office"])


async def test_a_token_built_like_the_forgeries_but_sound_is_let_in(
    module_system: System, keys: Keys, accountant_claims: Claims
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        headers = {"Authorization": f"Bearer {good(keys, accountant_claims)}"}
        response = await gateway.get("/ledger/v1/accounts", headers=headers)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__)
async def test_a_bad_access_token_is_refused_at_the_gateway(
    module_system: System, keys: Keys, accountant_claims: Claims, forge: Forge
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        headers = {"Authorization": f"Bearer {forge(keys, accountant_claims)}"}
        response = await gateway.get("/ledger/v1/accounts", headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def ledger_identity() -> Claims:
    return claims_for("ledger", "accountant", ["accountant"], "back")


async def test_an_identity_built_like_the_forgeries_but_sound_is_let_into_the_ledger(
    module_system: System, keys: Keys
) -> None:
    async with httpx.AsyncClient(base_url=module_system.ledger_url, timeout=30) as ledger:
        headers = {IDENTITY_HEADER: good(keys, ledger_identity())}
        response = await ledger.get("/v1/accounts", headers=headers)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__)
async def test_a_forged_identity_is_refused_by_the_ledger_called_directly(
    module_system: System, keys: Keys, forge: Forge
) -> None:
    async with httpx.AsyncClient(base_url=module_system.ledger_url, timeout=30) as ledger:
        headers = {IDENTITY_HEADER: forge(keys, ledger_identity())}
        response = await ledger.get("/v1/accounts", headers=headers)

    assert response.status_code == 401, response.text


async def test_a_users_access_token_is_no_identity_for_the_ledger(
    module_system: System,
) -> None:
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        auth = await login(gateway, "accountant")
    async with httpx.AsyncClient(base_url=module_system.ledger_url, timeout=30) as ledger:
        token = auth["Authorization"].removeprefix("Bearer ")
        response = await ledger.get("/v1/accounts", headers={IDENTITY_HEADER: token})

    assert response.status_code == 401, response.text


async def test_an_identity_header_sent_by_a_client_changes_nothing(
    module_system: System, keys: Keys
) -> None:
    """A trader who obtained a valid ledger identity of a controller still cannot post."""
    spoofed = keys.sign(claims_for("ledger", "controller", ["controller"], "back"))
    async with httpx.AsyncClient(base_url=module_system.gateway_url, timeout=30) as gateway:
        trader = await login(gateway, "trader")
        response = await gateway.post(
            "/ledger/v1/journal-entries",
            json={},
            headers={**trader, IDENTITY_HEADER: spoofed},
        )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "RoleMissing"

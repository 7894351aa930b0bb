"""One Caller from the gateway to the stored event: signed by the gateway, read back by a
service from the token (refusing what it does not know), recorded as the events' actor."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shared_kernel.envelope import Actor
from shared_kernel.identity import (
    ALGORITHM,
    ISSUER,
    Caller,
    IdentitySigner,
    IdentityVerifier,
    InvalidIdentity,
)
from shared_kernel.roles import CallerKind, Office, Role, UnknownRole

pytestmark = pytest.mark.unit

KEY = Ed25519PrivateKey.generate()
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
VERIFIER = IdentityVerifier({"k1": PUBLIC_PEM}, audience="ledger")


def token(**claims: Any) -> str:
    """A token signed with the gateway's key, with these claims over valid defaults."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "ledger", "sub": "ada", "iat": now, "exp": now + 60} | claims
    return jwt.encode(body, PRIVATE_PEM, algorithm=ALGORITHM, headers={"kid": "k1"})


def test_the_caller_the_gateway_signs_is_the_caller_the_service_reads() -> None:
    signed = Caller("trading-system", {Role.TRADER}, Office.FRONT, "rid-7", CallerKind.SYSTEM)

    read = VERIFIER.verify(IdentitySigner(PRIVATE_PEM, "k1").sign(signed, audience="ledger"))

    assert read == signed and not read.is_person
    assert read.roles == {Role.TRADER} and all(isinstance(r, Role) for r in read.roles)
    assert read.office is Office.FRONT and read.kind is CallerKind.SYSTEM


def test_a_token_of_the_older_shape_still_reads() -> None:
    read = VERIFIER.verify(token(roles=["auditor"], office="none", kind="user", rid="r"))

    assert read.office is Office.OVERSIGHT and read.is_person and read.roles == {Role.AUDITOR}


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"roles": ["accountant", "superuser"], "office": "back"}, "superuser"),
        ({"roles": ["accountant"], "office": "middle"}, "middle"),
        ({"roles": ["accountant"], "office": "back", "kind": "robot"}, "robot"),
    ],
    ids=["role", "office", "kind"],
)
def test_a_genuine_token_naming_what_the_service_does_not_know_is_refused(
    claims: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidIdentity, match=named):
        VERIFIER.verify(token(**claims))


def test_a_caller_built_from_stored_strings_holds_the_enums() -> None:
    caller = Caller("ada", frozenset({"accountant"}), "back", "r")

    assert caller.roles == {Role.ACCOUNTANT} and caller.office is Office.BACK
    assert caller.is_person and caller.has_any({Role.CONTROLLER, Role.ACCOUNTANT})
    assert not caller.has_any({Role.CONTROLLER})
    with pytest.raises(UnknownRole):
        Caller("ada", {"bookkeeper"}, "back")


def test_the_caller_is_recorded_as_the_events_actor() -> None:
    assert Caller("ada", {Role.ACCOUNTANT}, "back").actor == Actor("ada", "back")
    assert Caller.system("ledger-expiry").actor == Actor.system("ledger-expiry")
    assert Caller.system("ledger-expiry").kind is CallerKind.SYSTEM


@pytest.mark.parametrize("kid", ["k2", None])
@pytest.mark.parametrize("keys", [1, 2], ids=["one key", "two keys"])
def test_a_token_naming_another_key_id_is_refused_though_its_signature_holds(
    kid: Any, keys: int
) -> None:
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    verifier = IdentityVerifier(
        {"k1": PUBLIC_PEM, **({"k3": other} if keys == 2 else {})}, audience="ledger"
    )
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "ledger", "sub": "ada", "iat": now, "exp": now + 60}
    headers = {} if kid is None else {"kid": kid}
    named = jwt.encode(body, PRIVATE_PEM, algorithm=ALGORITHM, headers=headers)

    with pytest.raises(InvalidIdentity):
        verifier.verify(named)
    assert verifier.verify(token()).subject == "ada"

"""The identity the gateway vouches for, signed with an asymmetric key.

The gateway authenticates a caller, then forwards a short-lived EdDSA-signed token (header
``X-Backoffice-Identity``) whose audience is the target service. Services verify it with the
gateway's public key and refuse anything missing, expired, forged, of another audience, of an
unknown key id, or with a weak algorithm such as ``none``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared_kernel.errors import PermissionDenied

IDENTITY_HEADER = "X-Backoffice-Identity"
# The kinds of caller: a person (an operator who logged in) or a system (an API key).
PERSON = "user"
SYSTEM = "system"
ISSUER = "backoffice-gateway"
ALGORITHM = "EdDSA"


class InvalidIdentity(Exception):
    """The forwarded identity cannot be trusted."""


class IdentityExpired(InvalidIdentity):
    """The token was genuine but its lifetime is over (the caller should log in again)."""


@dataclass(frozen=True)
class Identity:
    subject: str
    roles: frozenset[str]
    # "front", "back", "oversight" (admin, auditor; "none" before oversight was an office)
    office: str
    request_id: str
    kind: str = PERSON  # PERSON (an operator) or SYSTEM (an API key)

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & roles)

    @property
    def is_person(self) -> bool:
        return self.kind == PERSON


class IdentitySigner:
    def __init__(self, private_key_pem: bytes, key_id: str, *, ttl_seconds: int = 60) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)
        self._kid = key_id
        self._ttl = ttl_seconds

    def sign(self, identity: Identity, audience: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": identity.subject,
            "roles": sorted(identity.roles),
            "office": identity.office,
            "rid": identity.request_id,
            "kind": identity.kind,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})  # type: ignore[arg-type]


class IdentityVerifier:
    def __init__(self, public_keys: dict[str, bytes], audience: str) -> None:
        self._keys = {
            kid: serialization.load_pem_public_key(pem) for kid, pem in public_keys.items()
        }
        self._audience = audience

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise InvalidIdentity("no identity forwarded by the gateway")
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(str(header.get("kid")))
            if key is None:
                raise InvalidIdentity("identity signed with an unknown key id")
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
            return Identity(
                subject=str(claims["sub"]),
                roles=frozenset(str(r) for r in claims.get("roles", [])),
                office=str(claims.get("office", "none")),
                request_id=str(claims.get("rid", "")),
                kind=str(claims.get("kind", PERSON)),
            )
        except InvalidIdentity:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise IdentityExpired(f"identity refused: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise InvalidIdentity(f"identity refused: {exc}") from exc


def key_id_of(public_key_pem: bytes) -> str:
    """A stable key id derived from the public key itself."""
    import hashlib

    return hashlib.sha256(public_key_pem).hexdigest()[:16]


def ensure_keypair(directory: Path) -> tuple[Path, Path]:
    """Create the gateway's Ed25519 key pair once (development and tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = (
        directory / "identity_ed25519.pem",
        directory / "identity_ed25519.pub.pem",
    )
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private_path, public_path


def require_any_role(identity: Identity, allowed: frozenset[str], action: str) -> None:
    """Services enforce the office split again behind the gateway (defence in depth)."""
    if not identity.roles & allowed:
        raise PermissionDenied(
            f"{action} needs one of the roles {', '.join(sorted(allowed))}",
            code="RoleRequired",
        )

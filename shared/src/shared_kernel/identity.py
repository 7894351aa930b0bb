"""The identity the gateway vouches for, signed with an asymmetric key.

The gateway authenticates a caller, then forwards a short-lived EdDSA-signed token (header
``X-Backoffice-Identity``) whose audience is the target service. Services verify it with the
gateway's public key and refuse anything missing, expired, forged, of another audience, of an
unknown key id, or with a weak algorithm such as ``none``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared_kernel.envelope import Actor
from shared_kernel.errors import DomainError, PermissionDenied
from shared_kernel.roles import CallerKind, Office, Role, roles_of

IDENTITY_HEADER = "X-Backoffice-Identity"
ISSUER = "backoffice-gateway"
ALGORITHM = "EdDSA"


class InvalidIdentity(Exception):
    """The forwarded identity cannot be trusted."""


class IdentityExpired(InvalidIdentity):
    """The token was genuine but its lifetime is over (the caller should log in again)."""


@dataclass(frozen=True, init=False)
class Caller:
    """Who calls, as the gateway vouches for them: a person or a system, the office they work
    for and their roles. The gateway builds it from an operator or a system and signs it; a
    service reads it back from the token; a command records ``actor`` on its events; the
    four-eyes rule decides on it.

    Built from strings as stored in tokens and events (``"none"`` reads as oversight), it holds
    the enums; an unknown role or office is refused (UnknownRole, UnknownOffice)."""

    subject: str
    roles: frozenset[Role]
    office: Office
    request_id: str
    kind: CallerKind

    def __init__(
        self,
        subject: str,
        roles: Iterable[str],
        office: str,
        request_id: str = "",
        kind: str = CallerKind.PERSON,
    ) -> None:
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "roles", roles_of(roles))
        object.__setattr__(self, "office", Office.parse(office))
        object.__setattr__(self, "request_id", request_id)
        object.__setattr__(self, "kind", CallerKind(kind))

    @classmethod
    def system(cls, name: str, *, request_id: str = "") -> Caller:
        """A service doing its own work (a sweeper, an inbox, a set-up step): a system without
        roles, recorded as the actor ``system:<name>`` of the ``system`` office."""
        actor = Actor.system(name)
        return cls(actor.subject, frozenset(), Office.SYSTEM, request_id, CallerKind.SYSTEM)

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_person(self) -> bool:
        return self.kind is CallerKind.PERSON

    @property
    def actor(self) -> Actor:
        """Who the events of this caller's commands name: subject and office."""
        return Actor(subject=self.subject, office=self.office.value)


class IdentitySigner:
    def __init__(self, private_key_pem: bytes, key_id: str, *, ttl_seconds: int = 60) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)
        self._kid = key_id
        self._ttl = ttl_seconds

    def sign(self, caller: Caller, audience: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": caller.subject,
            "roles": sorted(role.value for role in caller.roles),
            "office": caller.office.value,
            "rid": caller.request_id,
            "kind": caller.kind.value,
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

    def verify(self, token: str | None) -> Caller:
        return self.verify_with_expiry(token)[0]

    def verify_with_expiry(self, token: str | None) -> tuple[Caller, float]:
        """The caller, and the time (seconds since the epoch) from which the token is expired:
        for a cache of verified tokens, which must refuse it from then on."""
        if not token:
            raise InvalidIdentity("no identity forwarded by the gateway")
        try:
            # With one key (the usual case) the header is read once, by the decoding, and its
            # key id checked after; with several, it picks the key first.
            only = next(iter(self._keys.items())) if len(self._keys) == 1 else None
            kid = only[0] if only else str(jwt.get_unverified_header(token).get("kid"))
            key = only[1] if only else self._keys.get(kid)
            if key is None:
                raise InvalidIdentity("identity signed with an unknown key id")
            decoded = jwt.decode_complete(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
            if decoded["header"].get("kid") != kid:
                raise InvalidIdentity("identity signed with an unknown key id")
            claims: dict[str, Any] = decoded["payload"]
        except InvalidIdentity:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise IdentityExpired(f"identity refused: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise InvalidIdentity(f"identity refused: {exc}") from exc
        return caller_of(claims), float(claims["exp"])


def caller_of(claims: dict[str, Any]) -> Caller:
    """The caller named by a verified token's claims. A genuine token naming a role, office or
    kind this service does not know is refused (InvalidIdentity), not guessed at."""
    try:
        return Caller(
            subject=str(claims["sub"]),
            roles=[str(r) for r in claims.get("roles", [])],
            office=str(claims.get("office", "none")),
            request_id=str(claims.get("rid", "")),
            kind=str(claims.get("kind", CallerKind.PERSON)),
        )
    except DomainError as exc:
        raise InvalidIdentity(f"identity refused: {exc.detail}") from exc
    except ValueError as exc:
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


def require_any_role(caller: Caller, allowed: frozenset[Role], action: str) -> None:
    """Services enforce the office split again behind the gateway (defence in depth)."""
    if not caller.has_any(allowed):
        raise PermissionDenied(
            f"{action} needs one of the roles {', '.join(sorted(allowed))}",
            code="RoleRequired",
        )

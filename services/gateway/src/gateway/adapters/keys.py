"""The gateway's Ed25519 key pair: it signs access tokens and the identities it forwards."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shared_kernel.identity import ensure_keypair, key_id_of

from gateway.settings import GatewaySettings


@dataclass(frozen=True)
class SigningKey:
    private_pem: bytes
    key_id: str


def load_signing_key(settings: GatewaySettings) -> SigningKey:
    """Read the key pair named by the settings; outside production create it when missing.

    The key id is derived from the public key *file*, exactly as the services derive it, and
    the private key must belong to that public key: otherwise every service would refuse
    every forwarded identity, so the gateway refuses to start instead."""
    private_file, public_file = (
        settings.identity_private_key_file,
        settings.identity_public_key_file,
    )
    if settings.environment != "production" and not private_file.exists():
        created_private, created_public = ensure_keypair(private_file.parent)
        if (created_private, created_public) != (private_file, public_file):
            raise RuntimeError(
                f"created a development key pair as {created_private} and {created_public}; "
                "point IDENTITY_PRIVATE_KEY_FILE and IDENTITY_PUBLIC_KEY_FILE at them"
            )
    private_pem, public_pem = private_file.read_bytes(), public_file.read_bytes()
    private_key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise RuntimeError(f"{private_file} is not an Ed25519 private key")
    derived = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    published = serialization.load_pem_public_key(public_pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if derived != published:
        raise RuntimeError(f"{private_file} does not belong to the public key {public_file}")
    return SigningKey(private_pem=private_pem, key_id=key_id_of(public_pem))
